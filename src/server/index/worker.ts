/**
 * The index worker (dist/traceIndexWorker.js): walks the workspace, reads every C file
 * that can name a trace event and parses its calls, off the server's main thread so the
 * server answers while it works. The server ends it to cancel.
 */
import { parentPort } from 'node:worker_threads';
import { cParser } from '../../core/vhostuser/cEnums';
import { buildIndex } from './buildIndex';
import { isIndexRequest, type WorkerMessage } from './workerProtocol';

const port = parentPort;
if (!port) throw new Error('traceIndexWorker runs only as a worker thread');
const post = (m: WorkerMessage): void => port.postMessage(m);

port.on('message', (m: unknown) => {
  if (!isIndexRequest(m)) { post({ type: 'failed', message: 'the index worker got a message it does not know' }); return; }
  void (async () => {
    try {
      const parser = await cParser();
      const stats = buildIndex(parser, m.roots, {
        files: (traceEvents, cFiles) => post({ type: 'files', traceEvents, cFiles }),
        records: (records) => post({ type: 'records', records }),
      }, undefined, m.shard, m.shards);
      if (stats) post({ type: 'done', stats });
    } catch (e) {
      post({ type: 'failed', message: e instanceof Error ? e.message : String(e) });
    }
  })();
});
