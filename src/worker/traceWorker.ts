/**
 * Worker thread: reads one trace file (or a byte range of it) and posts the
 * store back in batches of transferable typed arrays.
 */
import { parentPort } from 'node:worker_threads';
import { Catalogue } from '../core/trace/catalogue';
import { builtinCatalogue } from '../core/trace/catalogues/index';
import { finishBatch, readTraceWith } from '../core/trace/readTrace';
import { CancelledError } from '../core/trace/source';
import { serializeStore } from '../core/trace/storeTransfer';
import type { CatalogueSpec, FromWorker, ToWorker } from '../core/trace/workerProtocol';

const port = parentPort;
if (!port) throw new Error('traceWorker must run in a worker thread');

const controller = new AbortController();

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

function catalogueOf(spec: CatalogueSpec): Catalogue {
  return spec.kind === 'builtin' ? builtinCatalogue(spec.version) : new Catalogue(spec.decls, 'worker');
}

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'cancel') { controller.abort(); return; }
  let lastProgress = 0;
  let total = 0;
  readTraceWith(msg.path, catalogueOf(msg.catalogue), {
    start: msg.start,
    end: msg.end,
    simpletracePart: msg.simpletrace,
    signal: controller.signal,
    batchBytes: msg.batchBytes,
    onBatch: (store) => { const s = serializeStore(store); post({ type: 'batch', store: s.data }, s.transfer); },
    onProgress: (bytes) => {
      total = bytes;
      if (bytes - lastProgress >= 16 * 1024 * 1024) { post({ type: 'progress', bytes: bytes - lastProgress }); lastProgress = bytes; }
    },
  }, finishBatch, true).then(
    (store) => {
      if (total > lastProgress) post({ type: 'progress', bytes: total - lastProgress });
      const s = serializeStore(store);
      post({ type: 'done', store: s.data }, s.transfer);
    },
    (e: unknown) => post({ type: 'error', message: e instanceof Error ? e.message : String(e), cancelled: e instanceof CancelledError }),
  );
});
