import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseSpec } from './specParser';
import { curatedRules, specRules, type Rule } from './rules';
import { builtinSpec, loadSpecFile } from './specSource';
import { lineOf, rstPath, txtPath } from './testSupport';
import { parseUserRules, RulesFileError, mergeRules } from './userRules';

const rstText = readFileSync(rstPath, 'utf8');
const txtText = readFileSync(txtPath, 'utf8');
const rst = parseSpec(rstText, rstPath);
const txt = parseSpec(txtText, txtPath);

const byId = (rules: readonly Rule[], id: string): Rule => {
  const r = rules.find((x) => x.id === id);
  assert.ok(r, `rule ${id} missing`);
  return r;
};

test('postcopy rules are present in both document forms, each citing its sentence at its own line', () => {
  for (const [model, text] of [[rst, rstText], [txt, txtText]] as const) {
    const rules = specRules(model);
    const advise = byId(rules, 'postcopy-advise-needs-pagefault');
    assert.equal(advise.kind, 'needs-feature');
    assert.deepEqual(advise.features, ['VHOST_USER_PROTOCOL_F_PAGEFAULT']);
    assert.match(advise.sentence, /^When VHOST_USER_PROTOCOL_F_PAGEFAULT is supported, the (front-end|master) advises/);
    assert.equal(advise.line, lineOf(text, /When .*VHOST_USER_PROTOCOL_F_PAGEFAULT.* is supported, the/));
    const listen = byId(rules, 'postcopy-listen-after-advise');
    assert.deepEqual(listen.messages, ['VHOST_USER_POSTCOPY_LISTEN', 'VHOST_USER_POSTCOPY_ADVISE']);
    assert.equal(listen.line, lineOf(text, /This is always sent sometime after/));
    const end = byId(rules, 'postcopy-end-after-listen');
    assert.deepEqual(end.messages, ['VHOST_USER_POSTCOPY_END', 'VHOST_USER_POSTCOPY_LISTEN']);
    assert.match(end.sentence, /after VHOST_USER_POSTCOPY_LISTEN was previously sent\.$/);
    assert.equal(end.line, lineOf(text, /When .*PAGEFAULT.* is supported, this message/));
    assert.equal(byId(rules, 'set-protocol-features-needs-f-protocol-features').features[0], 'VHOST_USER_F_PROTOCOL_FEATURES');
    assert.equal(byId(rules, 'need-reply-needs-reply-ack').flag, 'NEED_REPLY');
    assert.equal(byId(rules, 'ring-stop-after-start').kind, 'ring-start-stop');
  }
  assert.equal(rst.frontEnd.length > txt.frontEnd.length, true);
});

test('INBAND_NOTIFICATIONS needs BACKEND_REQ and REPLY_ACK (10.2.50); absent from the 2019 text, which lacks the sentence', () => {
  const r = byId(specRules(rst), 'inband-notifications-need-backend-req-and-reply-ack');
  assert.deepEqual(r.features, ['VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS', 'VHOST_USER_PROTOCOL_F_BACKEND_REQ', 'VHOST_USER_PROTOCOL_F_REPLY_ACK']);
  assert.equal(r.line, lineOf(rstText, /It is also considered an/));
  assert.deepEqual(curatedRules(txt).missing, ['inband-notifications-need-backend-req-and-reply-ack']);
});

test('feature-gated messages are derived from the wording; derived GET_VRING_BASE_INFLIGHT needs INFLIGHT_SHMFD', () => {
  const rules = specRules(rst);
  assert.deepEqual(byId(rules, 'needs-feature/SEND_RARP').features, ['VHOST_USER_F_PROTOCOL_FEATURES', 'VHOST_USER_PROTOCOL_F_RARP']);
  assert.deepEqual(byId(rules, 'needs-feature/GET_QUEUE_NUM').features, ['VHOST_USER_PROTOCOL_F_MQ']);
  assert.deepEqual(byId(rules, 'needs-feature/SET_DEVICE_STATE_FD').features, ['VHOST_USER_PROTOCOL_F_DEVICE_STATE']);
  assert.deepEqual(byId(rules, 'feature-needs-feature/GET_VRING_BASE_INFLIGHT').features, ['VHOST_USER_PROTOCOL_F_GET_VRING_BASE_INFLIGHT', 'VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD']);
  assert.equal(byId(rules, 'reply-required/SET_LOG_BASE').ifFeature, 'VHOST_USER_PROTOCOL_F_LOG_SHMFD');
  assert.equal(byId(rules, 'fd-count/SET_MEM_TABLE').minFds, 1);
  // Old names are used where the old text uses them.
  assert.deepEqual(byId(specRules(txt), 'needs-feature/SET_SLAVE_REQ_FD').features, ['VHOST_USER_F_PROTOCOL_FEATURES', 'VHOST_USER_PROTOCOL_F_SLAVE_REQ']);
  const ids = rules.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length, 'rule ids are unique');
});

test('the built-in model is the generated image of the 10.2.50 document (run scripts/gen-vhostuser-spec.ts when it differs)', () => {
  const parsed = loadSpecFile(rstPath);
  const b = builtinSpec();
  assert.deepEqual(b.model.frontEnd.map((m) => [m.name, m.id, m.line]), parsed.model.frontEnd.map((m) => [m.name, m.id, m.line]));
  assert.deepEqual(b.model.backEnd.map((m) => [m.name, m.id]), parsed.model.backEnd.map((m) => [m.name, m.id]));
  assert.deepEqual(b.model.protocolFeatures, parsed.model.protocolFeatures);
  assert.deepEqual(b.rules.map((r) => [r.id, r.line, r.sentence]), parsed.rules.map((r) => [r.id, r.line, r.sentence]));
});

test('user rules: valid ones are accepted (old names normalised) and replace spec rules of the same id', () => {
  const user = parseUserRules({ rules: [
    { id: 'my-rarp-after-listen', kind: 'after', messages: ['VHOST_USER_SEND_RARP', 'VHOST_USER_POSTCOPY_LISTEN'] },
    { id: 'postcopy-end-reply', kind: 'reply-shape', messages: ['VHOST_USER_POSTCOPY_END'], replySize: 8 },
    { id: 'slave-fd', kind: 'fd-count', messages: ['VHOST_USER_SET_SLAVE_REQ_FD'], minFds: 1 },
  ] }, rst, 'x.json');
  assert.equal(user[2]?.messages[0], 'VHOST_USER_SET_BACKEND_REQ_FD');
  const merged = mergeRules(specRules(rst), user);
  assert.equal(merged.filter((r) => r.id === 'postcopy-end-reply').length, 1);
  assert.equal(merged.find((r) => r.id === 'postcopy-end-reply')?.kind, 'reply-shape');
});

test('user rules: every problem is reported with its JSON path', () => {
  assert.throws(() => parseUserRules({ rules: [
    { id: 'a', kind: 'needs-feature', messages: ['VHOST_USER_NOPE'], features: ['VHOST_USER_PROTOCOL_F_NOPE'] },
    { id: 'a', kind: 'sometimes', messages: [] },
    { id: 'b', kind: 'after', messages: ['VHOST_USER_SEND_RARP'], colour: 'red' },
    'x',
  ] }, rst, 'rules.json'), (e: unknown) => {
    assert.ok(e instanceof RulesFileError);
    const all = e.problems.join('\n');
    assert.match(all, /rules\[0\]\.messages\[0\]: "VHOST_USER_NOPE" is not a message/);
    assert.match(all, /rules\[0\]\.features\[0\]: "VHOST_USER_PROTOCOL_F_NOPE" is not a feature/);
    assert.match(all, /rules\[1\]\.id: duplicate id "a"/);
    assert.match(all, /rules\[1\]\.kind: expected one of needs-feature, after/);
    assert.match(all, /rules\[2\]\.colour: unknown property/);
    assert.match(all, /rules\[2\]\.messages: after needs two messages/);
    assert.match(all, /rules\[3\]: expected an object/);
    assert.match(e.message, /^rules\.json: 7 problems/);
    return true;
  });
  assert.throws(() => parseUserRules({ nope: 1 }, rst), /expected \{"rules": \[\.\.\.\]\}/);
});
