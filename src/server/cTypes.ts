/**
 * What a trace event's argument type is as printf sees it, on the 64-bit Linux hosts QEMU
 * migration runs on (LP64: long and pointers are 8 bytes) and on the others QEMU builds for.
 */

export type ArgClass =
  | { readonly kind: 'string' }
  | { readonly kind: 'pointer' }
  | { readonly kind: 'integer'; readonly signed: boolean; readonly bits: 8 | 16 | 32 | 64;
      /** How its width is written: a fixed type (PRI macro), `long`, `long long`, `size_t` (z), `ptrdiff_t` (t), `intmax` (j), `uintptr_t` (PRIxPTR), or promoted to int. */
      readonly spelling: 'fixed' | 'long' | 'longlong' | 'size' | 'ptrdiff' | 'ptr' | 'int' }
  | { readonly kind: 'unknown' };

const FIXED = /^(u?)int(8|16|32|64)_t$/;

/** Classifies a declared type such as `const char *`, `uint64_t`, `unsigned long`, `bool`. */
export function classifyType(type: string): ArgClass {
  const t = type.replace(/\bconst\b|\bvolatile\b/g, ' ').replace(/\s+/g, ' ').trim();
  if (t.includes('*')) {
    const base = t.replace(/\s*\*\s*$/, '').trim();
    if (!base.includes('*') && /^(signed |unsigned )?char$/.test(base)) return { kind: 'string' };
    return { kind: 'pointer' };
  }
  const f = FIXED.exec(t);
  if (f) {
    const bits = Number(f[2]) as 8 | 16 | 32 | 64;
    return { kind: 'integer', signed: f[1] === '', bits, spelling: bits === 64 ? 'fixed' : bits === 32 ? 'fixed' : 'int' };
  }
  switch (t) {
    case 'size_t': return { kind: 'integer', signed: false, bits: 64, spelling: 'size' };
    case 'ssize_t': return { kind: 'integer', signed: true, bits: 64, spelling: 'size' };
    case 'ptrdiff_t': return { kind: 'integer', signed: true, bits: 64, spelling: 'ptrdiff' };
    case 'uintptr_t': return { kind: 'integer', signed: false, bits: 64, spelling: 'ptr' };
    case 'bool': return { kind: 'integer', signed: true, bits: 32, spelling: 'int' };
  }
  const words = t.split(' ');
  const unsigned = words.includes('unsigned');
  const rest = words.filter((w) => w !== 'unsigned' && w !== 'signed' && w !== 'int');
  const core = rest.join(' ');
  if (core === '' ) return { kind: 'integer', signed: !unsigned, bits: 32, spelling: 'int' };
  if (core === 'char' || core === 'short') return { kind: 'integer', signed: !unsigned, bits: core === 'char' ? 8 : 16, spelling: 'int' };
  if (core === 'long') return { kind: 'integer', signed: !unsigned, bits: 64, spelling: 'long' };
  if (core === 'long long') return { kind: 'integer', signed: !unsigned, bits: 64, spelling: 'longlong' };
  return { kind: 'unknown' };
}
