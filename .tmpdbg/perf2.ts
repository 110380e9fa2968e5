import { builtinCatalogue } from '../src/core/trace/catalogues/index';
import { readTrace } from '../src/core/trace/readTrace';
(async () => {
  const cat = builtinCatalogue('9.0');
  for (let k = 0; k < 3; k++) {
    const t0 = Date.now();
    const s = await readTrace('/work/main/bench/.data/trace-128m.log', cat);
    console.log('log', Date.now() - t0, 'ms', s.count());
  }
})();
