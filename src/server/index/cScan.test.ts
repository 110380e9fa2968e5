import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cParser } from '../../core/vhostuser/cEnums';
import { indexBytes } from './fileRecord';
import { scanC } from './cScan';
import { parseQemuVersion, rulesFor } from '../qemuVersion';

const C = `#include "qemu/osdep.h"
#include "trace.h"
/* trace_in_comment(1); */
// trace_in_line_comment(2);
static const char *s = "trace_in_string(3)";
void trace_declared(int x);
#define trace_macro(x) trace_inside_macro(x)
void f(int a, int b)
{
    trace_call_a(a, b,
                 a + b);
    if (trace_event_get_state_backends(TRACE_CALL_A)) {
        trace_call_b(MIN(a, b), "x, y", (struct S){ .p = a, .q = b });
    }
#endif
    trace_after_endif();
    return trace_ret(a);
}
`;

describe('C call scan', () => {
  it('finds calls, guards and definitions outside comments and literals', () => {
    const scan = scanC(Buffer.from(C));
    assert.equal(scan.includesTraceHeader, true);
    const kinds = scan.sites.map((s) => `${s.kind} ${s.ident}`);
    assert.deepEqual(kinds, [
      'definition trace_declared', 'definition trace_macro', 'call trace_inside_macro', 'call trace_call_a',
      'call trace_event_get_state_backends', 'guard TRACE_CALL_A', 'call trace_call_b', 'call trace_after_endif', 'call trace_ret',
    ]);
  });

  it('reads argument counts with tree-sitter, positions in lines and UTF-16 columns', async () => {
    const r = indexBytes(await cParser(), 'x.c', Buffer.from(C));
    const byName = new Map(r.calls.map((c) => [c.event, c]));
    assert.equal(byName.get('call_a')!.argCount, 3);
    assert.equal(byName.get('call_a')!.line, 9);
    assert.equal(byName.get('call_a')!.endLine, 10);
    assert.equal(byName.get('call_b')!.argCount, 3, 'commas in calls, strings and compound literals do not split arguments');
    assert.equal(byName.get('after_endif')!.argCount, 0);
    assert.deepEqual(r.definitions, ['declared', 'macro']);
    const latin = indexBytes(await cParser(), 'y.c', Buffer.concat([Buffer.from('/* '), Buffer.from('é', 'utf8'), Buffer.from(' */ trace_e(1);\n')]));
    assert.equal(latin.calls[0]!.character, 8, 'é is one UTF-16 unit');
  });

  it('leaves out binary files and files that cannot name an event', async () => {
    const p = await cParser();
    assert.equal(indexBytes(p, 'a.c', Buffer.from('int main(void) { return 0; }\n')).calls.length, 0);
    assert.equal(indexBytes(p, 'b.c', Buffer.from('trace_x(1);\0\0\0')).calls.length, 0);
  });
});

describe('tracetool rules by version', () => {
  it('changes at 9.1 and at 10.2 (development versions x.y.50 count as the next release)', () => {
    const r = (v: string) => rulesFor(parseQemuVersion(v));
    assert.equal(r('7.2.0').vcpuAddsCpuArgument, true);
    assert.equal(r('9.0.0').newlineAnywhere, false);
    assert.equal(r('9.0.50').newlineAnywhere, true);
    assert.equal(r('9.0.50').vcpuAddsCpuArgument, false);
    assert.deepEqual(r('10.1.0').properties, ['disable', 'vcpu']);
    assert.deepEqual(r('10.1.50').properties, ['disable']);
    assert.equal(r('10.2.2').formatTokensOnly, true);
    assert.equal(rulesFor(undefined).label, r('11.0.0').label);
  });
});
