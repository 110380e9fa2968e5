/**
 * Worker thread: reads one trace file (or a byte range of it) and posts the
 * store back in batches of transferable typed arrays.
 */
import { parentPort } from 'node:worker_threads';
import { Catalogue } from '../core/trace/catalogue';
import { builtinCatalogue } from '../core/trace/catalogues/index';
import { copyIntoPlace, summarizeStore, type RangePlan } from '../core/trace/assemble';
import { allowRecycling, recycleArrays } from '../core/trace/columns';
import { finishBatch, readTraceWith } from '../core/trace/readTrace';
import type { TraceStore } from '../core/trace/store';
import { CancelledError } from '../core/trace/source';
import { serializeStore } from '../core/trace/storeTransfer';
import type { CatalogueSpec, FromWorker, ReadRequest, ToWorker } from '../core/trace/workerProtocol';

const port = parentPort;
if (!port) throw new Error('traceWorker must run in a worker thread');

const controller = new AbortController();
// Column arrays of ranges copied into place are reused by later ranges (see allocInt).
allowRecycling(512 * 1024 * 1024);

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

function catalogueOf(spec: CatalogueSpec): Catalogue {
  return spec.kind === 'builtin' ? builtinCatalogue(spec.version) : new Catalogue(spec.decls, 'worker');
}

/** Stores of the ranges this worker read, kept until they are copied into place. */
const held = new Map<number, TraceStore>();

function assemble(range: number, plan: RangePlan): void {
  const store = held.get(range);
  if (!store) { post({ type: 'error', message: `range ${range} is not held by this worker`, cancelled: false }); return; }
  try {
    copyIntoPlace(store, plan);
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e), cancelled: false });
    return;
  }
  held.delete(range);
  // The next ranges (of this read or the next) reuse its arrays.
  recycleArrays(store.arrays());
  post({ type: 'assembled', range });
}

/**
 * Reads run one after another: a worker may be handed its next range before it finishes one.
 * Each waits a turn of the event loop, so requests to copy ranges into place that arrived
 * during the read before are carried out (and their arrays reused) first.
 */
let queue: Promise<void> = Promise.resolve();
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'cancel') { controller.abort(); return; }
  if (msg.type === 'assemble') { assemble(msg.range, msg.plan); return; }
  queue = queue.then(nextTurn).then(() => read(msg));
});

function read(msg: ReadRequest): Promise<void> {
  const hold = msg.hold;
  let lastProgress = 0;
  let total = 0;
  return readTraceWith(msg.path, catalogueOf(msg.catalogue), {
    start: msg.start,
    end: msg.end,
    simpletracePart: msg.simpletrace,
    signal: controller.signal,
    // A held range is one store: no batches.
    batchBytes: hold !== undefined ? undefined : msg.batchBytes,
    scanner: msg.scanner,
    base: msg.base,
    tids: msg.tids,
    plainLog: msg.plainLog,
    onBatch: (store) => { const s = serializeStore(store); post({ type: 'batch', store: s.data }, s.transfer); },
    onProgress: (bytes) => {
      total = bytes;
      if (bytes - lastProgress >= 16 * 1024 * 1024) { post({ type: 'progress', bytes: bytes - lastProgress }); lastProgress = bytes; }
    },
  }, finishBatch, true).then(
    (store) => {
      if (total > lastProgress) post({ type: 'progress', bytes: total - lastProgress });
      if (hold !== undefined) {
        held.set(hold, store);
        post({ type: 'held', range: hold, shape: summarizeStore(store) });
        return;
      }
      const s = serializeStore(store);
      post({ type: 'done', store: s.data }, s.transfer);
    },
    (e: unknown) => post({ type: 'error', message: e instanceof Error ? e.message : String(e), cancelled: e instanceof CancelledError }),
  );
}
