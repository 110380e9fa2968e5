/**
 * Worker thread: reads one trace file (or a byte range of it) and posts the
 * store back in batches of transferable typed arrays.
 */
import { parentPort } from 'node:worker_threads';
import { Catalogue } from '../core/trace/catalogue';
import { builtinCatalogue } from '../core/trace/catalogues/index';
import { copyIntoPlace, summarizeStore, type RangePlan } from '../core/trace/assemble';
import { allowRecycling, recycleArrays } from '../core/trace/columns';
import { followTrace } from '../core/trace/follow';
import { readRequested } from '../core/trace/readTrace';
import type { TraceStore } from '../core/trace/store';
import { serializeStore } from '../core/trace/storeTransfer';
import { prepareScanner } from '../core/trace/wasmScan';
import type { CatalogueSpec, FollowRequest, FromWorker, ReadRequest, ToWorker, WarmRequest } from '../core/trace/workerProtocol';

const port = parentPort;
if (!port) throw new Error('traceWorker must run in a worker thread');

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
  if (!store) { post({ type: 'error', message: `range ${range} is not held by this worker` }); return; }
  try {
    copyIntoPlace(store, plan);
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
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
  if (msg.type === 'assemble') { assemble(msg.range, msg.plan); return; }
  if (msg.type === 'follow') { void follow(msg); return; }
  if (msg.type === 'warm') { queue = queue.then(() => warm(msg)); return; }
  queue = queue.then(nextTurn).then(() => read(msg));
});

/**
 * Follow mode: tails the file from where its first read ended; each batch of new lines goes
 * to the caller as a store of transferred arrays, so a tick costs what the new bytes cost,
 * here, off the caller's thread. Runs until the caller ends the worker.
 */
async function follow(msg: FollowRequest): Promise<void> {
  try {
    await followTrace(msg.path, catalogueOf(msg.catalogue), {
      intervalMs: msg.intervalMs,
      batchBytes: msg.batchBytes,
      resume: msg.resume,
      onBatch: (store, next) => { const s = serializeStore(store); post({ type: 'followBatch', store: s.data, next }, s.transfer); },
      onReset: (reason) => post({ type: 'followReset', reason }),
      onError: (message) => post({ type: 'followProblem', message }),
    });
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  }
}

/** Sets up the catalogue and scanner of a read expected next; a failure here is the read's to report. */
function warm(msg: WarmRequest): void {
  try {
    const cat = catalogueOf(msg.catalogue);
    if (msg.format === undefined) cat.nameIndex();
    else prepareScanner(cat, msg.format === 'log');
  } catch {
    // The read sets them up again and says what is wrong.
  }
}

function read(msg: ReadRequest): Promise<void> {
  const hold = msg.hold;
  let lastProgress = 0;
  let total = 0;
  let lateMapping = false;
  return readRequested(msg, catalogueOf(msg.catalogue), {
    onLateMapping: () => { lateMapping = true; },
    onBatch: (store) => { const s = serializeStore(store); post({ type: 'batch', store: s.data }, s.transfer); },
    onProgress: (bytes) => {
      total = bytes;
      if (bytes - lastProgress >= 16 * 1024 * 1024) { post({ type: 'progress', bytes: bytes - lastProgress }); lastProgress = bytes; }
    },
  }).then(
    (store) => {
      if (total > lastProgress) post({ type: 'progress', bytes: total - lastProgress });
      if (hold !== undefined) {
        held.set(hold, store);
        post({ type: 'held', range: hold, shape: summarizeStore(store), ...(lateMapping ? { lateMapping } : {}) });
        return;
      }
      const s = serializeStore(store);
      post({ type: 'done', store: s.data }, s.transfer);
    },
    (e: unknown) => post({ type: 'error', message: e instanceof Error ? e.message : String(e) }),
  );
}
