import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as record from './simpletrace';
import * as line from './wasmScan';

/** The name → value table logscan.c exports (shared_constants), read from its memory. */
function scannerConstants(module: WebAssembly.Module): Map<string, number> {
  const instance = new WebAssembly.Instance(module, { env: { tid_code: () => 0, first_time: () => 0 } });
  const x = instance.exports as unknown as { memory: WebAssembly.Memory; shared_constants(): number; shared_constant_count(): number };
  const mem = new DataView(x.memory.buffer);
  const bytes = new Uint8Array(x.memory.buffer);
  const out = new Map<string, number>();
  for (let i = 0, at = x.shared_constants(); i < x.shared_constant_count(); i++, at += 8) {
    const name = mem.getUint32(at, true);
    const end = bytes.indexOf(0, name);
    out.set(new TextDecoder().decode(bytes.subarray(name, end)), mem.getUint32(at + 4, true));
  }
  return out;
}

/** Each number as TypeScript spells it, under logscan.c's name. */
const typescript: Record<string, number> = {
  OP_END: line.OP_END, OP_LIT: line.OP_LIT, OP_INT: line.OP_INT, OP_UINT: line.OP_UINT, OP_HEX: line.OP_HEX,
  OP_HEXALT: line.OP_HEXALT, OP_PTR: line.OP_PTR, OP_STR: line.OP_STR,
  ST_END: line.ST_END, ST_SLOW: line.ST_SLOW, ST_FULL: line.ST_FULL, ST_NEED_PROGRAM: line.ST_NEED_PROGRAM,
  ST_STRINGS: line.ST_STRINGS, ST_NEED_PLAN: line.ST_NEED_PLAN,
  PACK_U8: line.PACK_U8, PACK_U16: line.PACK_U16, PACK_I32: line.PACK_I32, PACK_U32: line.PACK_U32, PACK_F64: line.PACK_F64,
  R_SKIP: record.OP_SKIP, R_SKIP_STR: record.OP_SKIP_STR, R_STR: record.OP_STR, R_CHAR: record.OP_CHAR,
  R_U8: record.OP_U8, R_S8: record.OP_S8, R_U16: record.OP_U16, R_S16: record.OP_S16,
  R_U32: record.OP_U32, R_S32: record.OP_S32, R_U64: record.OP_U64, R_S64: record.OP_S64,
  RECORD_TO_JS: line.RECORD_TO_JS,
};

test('the opcodes, statuses and kinds TypeScript sends and reads are those of the WebAssembly scanner', () => {
  const module = line.logScanModule();
  assert.ok(module, 'dist/logscan.wasm is not built (npm run build)');
  const scanner = scannerConstants(module);
  assert.deepEqual(Object.fromEntries(scanner), typescript, 'every number logscan.c shares, and only those, with the same value');
});
