import fc from 'fast-check';
import { parseFormat } from '../src/core/trace/format';
import { Decoder, DecodeScratch } from '../src/core/trace/decoder';
const convArb = fc.record({
  letter: fc.constantFrom('d', 'i', 'u', 'x', 'X', 'o', 'c', 's', 'p'),
  flags: fc.subarray(['-', '0', '#', '+', ' ']),
});
console.log('start');
console.log(fc.sample(convArb, 3));
console.log(fc.sample(fc.string({ unit: fc.constantFrom('a', 'b', 'Q', ' ', '='), maxLength: 4 }), 3));
for (const f of ['x%5s %%', '%-3d=', 'a %s: %d', '%c/%p']) { console.log(f, parseFormat(f).length); const d = new Decoder(f, [], []); const b = Buffer.from('x  ab %'); console.log(d.decode(b, 0, b.length, new DecodeScratch(4))); }
