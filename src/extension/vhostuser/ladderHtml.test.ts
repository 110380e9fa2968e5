import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkText } from '../../core/vhostuser/check';
import { builtinSpec } from '../../core/vhostuser/specSource';
import { recording } from '../../core/vhostuser/testSupport';
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
