import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkText } from '../../core/vhostuser/check';
import { builtinSpec } from '../../core/vhostuser/specSource';
import { bridgeRecording, recording } from '../../core/vhostuser/testSupport';
import { parseBackendLog } from '../../core/vhostuser/backendLog';
import { escapeHtml, ladderHtml } from './ladderHtml';

test('ladder page: one row per message, arrows by direction, violations marked, strict CSP with nonce', () => {
  const text = recording('dst-testpmd.log').replace('protocol features: 0x10dbf', 'protocol features: 0x10cbf');
  const r = checkText(text, builtinSpec());
  const html = ladderHtml(r, { title: 'x <y>', cspSource: 'vscode-resource:', nonce: 'abc' });
  assert.equal((html.match(/<tr class="[^"]*" data-line=/g) ?? []).length, r.messageCount);
  assert.match(html, /default-src 'none'; style-src vscode-resource: 'nonce-abc'; script-src 'nonce-abc';/);
  assert.match(html, /<title>x &lt;y&gt;<\/title>/);
  assert.equal((html.match(/<tr class="bad"/g) ?? []).length, new Set(r.violations.map((v) => v.line)).size);
  assert.match(html, /class="violation">postcopy-advise-needs-pagefault: /);
  assert.match(html, /class="arrow right"><span class="label">VHOST_USER_GET_FEATURES<\/span>/);
  assert.match(html, /class="arrow left"><span class="label">VHOST_USER_GET_FEATURES \(reply\)<\/span>/);
  assert.ok(!/<script(?! nonce="abc")/.test(html));
  assert.equal(escapeHtml(`<img src=x onerror='1'>&`), '&lt;img src=x onerror=&#39;1&#39;&gt;&amp;');
});

test('ladder page of a back-end that died: the message marked, the disconnect drawn, the PANIC and the spec quoted', () => {
  const run = 'qemu1002-bridge-postcopy';
  const r = checkText(bridgeRecording(run, 'dst-trace.log'), builtinSpec(), {
    traceFile: 'dst-trace.log',
    backend: { file: '/rec/dst-bridge.log', log: parseBackendLog(bridgeRecording(run, 'dst-bridge.log')) },
  });
  const v = r.violations[0];
  assert.ok(v);
  const html = ladderHtml(r, { title: 't', cspSource: 'vscode-resource:', nonce: 'n' });
  assert.match(html, new RegExp(`<tr class="bad died" data-line="${v.line}"[^>]*>.*VHOST_USER_ADD_MEM_REG</span><span class="details">flags 0x1</span><span class="mark">back-end died here</span>`));
  const closed = r.flow.connectionEvents?.find((e) => e.kind === 'closed');
  assert.match(html, new RegExp(`<tr class="event closed" data-line="${closed?.line}"[^>]*><td class="line">${closed?.line}</td><td class="event-cell">connection closed by the back-end \\(chardev c0, event 4\\)`));
  // the disconnect row comes right after the last message before it
  const order = [...html.matchAll(/data-line="(\d+)"/g)].map((m) => Number(m[1]));
  const rows = order.slice(order.indexOf(v.line));
  assert.ok(rows.indexOf(closed?.line ?? -1) > 0);
  assert.match(html, /<div class="diagnosis"><h2>backend-died\/postcopy-add-mem-reg-ack<\/h2>/);
  assert.match(html, /dst-bridge\.log:11: PANIC: VHOST_USER_ADD_MEM_REG received 0 fds/);
  assert.match(html, /spec line 1616: &quot;Exactly one file descriptor/);
  assert.match(html, /The spec contradicts itself here/);
});
