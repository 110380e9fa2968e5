import { Decoder, DecodeScratch } from '../src/core/trace/decoder';
for (const [f, t] of [['Q%-16.7s', 'QF6O' + ' '.repeat(13)], ['%hhi] ', '35] ']]) {
const d = new Decoder(f, ['a'], []);
const b = Buffer.from(t); const s = new DecodeScratch(4);
console.log(JSON.stringify(f), d.decode(b, 0, b.length, s), s.strStart[0], s.strEnd[0], s.num[0]);
}
