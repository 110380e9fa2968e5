import { builtinCatalogue } from '../src/core/trace/catalogues/index';
import { readTraceInWorker } from '../src/core/trace/workerClient';
import { readTrace } from '../src/core/trace/readTrace';
(async () => {
  const cat = builtinCatalogue('9.0');
  const f = '/work/main/bench/.data/trace-128m.log';
  for (const w of [1, 2, 2, 1]) {
    const t0 = Date.now();
    const s = await readTraceInWorker(f, cat, { workers: w, workerScript: '/work/main/bench/.data/traceWorker.js' });
    console.log('workers', w, Date.now() - t0, 'ms', s.count());
  }
  const t0 = Date.now(); await readTrace(f, cat); console.log('inline', Date.now() - t0);
})();
