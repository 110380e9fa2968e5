import { Decoder, DecodeScratch } from '../src/core/trace/decoder';
const d = new Decoder('%.1d %.1d', ['a', 'b'], []);
const b = Buffer.from('-273 0'); const s = new DecodeScratch(4);
console.log(d.decode(b, 0, b.length, s), s.num[0], s.num[1], d.fields);
