import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseSpec } from './specParser';
import type { SpecModel } from './model';
import { lineOf, oldTxtPath, rstPath, txtPath } from './testSupport';

const rstText = readFileSync(rstPath, 'utf8');
const txtText = readFileSync(txtPath, 'utf8');
const rst = parseSpec(rstText, rstPath);
const txt = parseSpec(txtText, txtPath);

const table = (list: readonly { name: string; id?: number; bit?: number }[], prefix: string): [string, number][] =>
  list.map((m) => [m.name.replace(prefix, ''), m.id ?? m.bit ?? -1]);

// The tables below are written from the documents (":id:" / "Id:" fields, #define lines).
test('vhost-user.rst (10.2.50): every front-end message with its id', () => {
  assert.equal(rst.format, 'rst');
  assert.deepEqual(table(rst.frontEnd, 'VHOST_USER_'), [
    ['GET_FEATURES', 1], ['SET_FEATURES', 2], ['GET_PROTOCOL_FEATURES', 15], ['SET_PROTOCOL_FEATURES', 16], ['SET_OWNER', 3],
    ['RESET_OWNER', 4], ['SET_MEM_TABLE', 5], ['SET_LOG_BASE', 6], ['SET_LOG_FD', 7], ['SET_VRING_NUM', 8], ['SET_VRING_ADDR', 9],
    ['SET_VRING_BASE', 10], ['GET_VRING_BASE', 11], ['SET_VRING_KICK', 12], ['SET_VRING_CALL', 13], ['SET_VRING_ERR', 14],
    ['GET_QUEUE_NUM', 17], ['SET_VRING_ENABLE', 18], ['SEND_RARP', 19], ['NET_SET_MTU', 20], ['SET_BACKEND_REQ_FD', 21],
    ['IOTLB_MSG', 22], ['SET_VRING_ENDIAN', 23], ['GET_CONFIG', 24], ['SET_CONFIG', 25], ['CREATE_CRYPTO_SESSION', 26],
    ['CLOSE_CRYPTO_SESSION', 27], ['POSTCOPY_ADVISE', 28], ['POSTCOPY_LISTEN', 29], ['POSTCOPY_END', 30], ['GET_INFLIGHT_FD', 31],
    ['SET_INFLIGHT_FD', 32], ['GPU_SET_SOCKET', 33], ['RESET_DEVICE', 34], ['VRING_KICK', 35], ['GET_MAX_MEM_SLOTS', 36],
    ['ADD_MEM_REG', 37], ['REM_MEM_REG', 38], ['SET_STATUS', 39], ['GET_STATUS', 40], ['GET_SHARED_OBJECT', 41],
    ['SET_DEVICE_STATE_FD', 42], ['CHECK_DEVICE_STATE', 43],
  ]);
});

test('vhost-user.rst (10.2.50): every back-end message with its id, old names kept as aliases', () => {
  assert.deepEqual(table(rst.backEnd, 'VHOST_USER_'), [
    ['BACKEND_IOTLB_MSG', 1], ['BACKEND_CONFIG_CHANGE_MSG', 2], ['BACKEND_VRING_HOST_NOTIFIER_MSG', 3], ['BACKEND_VRING_CALL', 4],
    ['BACKEND_VRING_ERR', 5], ['BACKEND_SHARED_OBJECT_ADD', 6], ['BACKEND_SHARED_OBJECT_REMOVE', 7], ['BACKEND_SHARED_OBJECT_LOOKUP', 8],
  ]);
  assert.deepEqual(rst.backEnd[0]?.aliases, ['VHOST_USER_SLAVE_IOTLB_MSG']);
  assert.deepEqual(rst.frontEnd.find((m) => m.id === 21)?.aliases, ['VHOST_USER_SET_SLAVE_REQ_FD']);
});

test('vhost-user.rst (10.2.50): every protocol feature bit, VHOST_USER_F_PROTOCOL_FEATURES and the header flags', () => {
  assert.deepEqual(table(rst.protocolFeatures, 'VHOST_USER_PROTOCOL_F_'), [
    ['MQ', 0], ['LOG_SHMFD', 1], ['RARP', 2], ['REPLY_ACK', 3], ['MTU', 4], ['BACKEND_REQ', 5], ['CROSS_ENDIAN', 6],
    ['CRYPTO_SESSION', 7], ['PAGEFAULT', 8], ['CONFIG', 9], ['BACKEND_SEND_FD', 10], ['HOST_NOTIFIER', 11], ['INFLIGHT_SHMFD', 12],
    ['RESET_DEVICE', 13], ['INBAND_NOTIFICATIONS', 14], ['CONFIGURE_MEM_SLOTS', 15], ['STATUS', 16], ['XEN_MMAP', 17],
    ['SHARED_OBJECT', 18], ['DEVICE_STATE', 19], ['GET_VRING_BASE_INFLIGHT', 20],
  ]);
  assert.deepEqual(rst.virtioFeatures.map((f) => [f.name, f.bit]), [['VHOST_USER_F_PROTOCOL_FEATURES', 30]]);
  assert.deepEqual(rst.headerFlags.map((f) => [f.name, f.mask]), [['VERSION', 3], ['REPLY', 4], ['NEED_REPLY', 8]]);
  assert.equal(rst.protocolFeatures.find((f) => f.bit === 8)?.line, lineOf(rstText, /#define VHOST_USER_PROTOCOL_F_PAGEFAULT\s+8/));
});

test('vhost-user.rst: message fields (ioctl, payloads) and entry lines', () => {
  const get = rst.frontEnd.find((m) => m.name === 'VHOST_USER_GET_FEATURES');
  assert.equal(get?.ioctl, 'VHOST_GET_FEATURES');
  assert.equal(get?.requestPayload, 'N/A');
  assert.equal(get?.replyPayload, 'u64');
  assert.equal(get?.line, lineOf(rstText, /^``VHOST_USER_GET_FEATURES``$/));
  const advise = rst.frontEnd.find((m) => m.name === 'VHOST_USER_POSTCOPY_ADVISE');
  assert.equal(advise?.replyPayload, 'userfault fd');
  assert.equal(advise?.ioctl, undefined);
  assert.equal(rst.frontEnd.find((m) => m.id === 22)?.ioctl, 'N/A (equivalent to VHOST_IOTLB_MSG message type)');
});

test('vhost-user.txt (2019, master/slave): every message id and feature bit', () => {
  assert.equal(txt.format, 'txt');
  assert.deepEqual(table(txt.frontEnd, 'VHOST_USER_'), [
    ['GET_FEATURES', 1], ['SET_FEATURES', 2], ['GET_PROTOCOL_FEATURES', 15], ['SET_PROTOCOL_FEATURES', 16], ['SET_OWNER', 3],
    ['RESET_OWNER', 4], ['SET_MEM_TABLE', 5], ['SET_LOG_BASE', 6], ['SET_LOG_FD', 7], ['SET_VRING_NUM', 8], ['SET_VRING_ADDR', 9],
    ['SET_VRING_BASE', 10], ['GET_VRING_BASE', 11], ['SET_VRING_KICK', 12], ['SET_VRING_CALL', 13], ['SET_VRING_ERR', 14],
    ['GET_QUEUE_NUM', 17], ['SET_VRING_ENABLE', 18], ['SEND_RARP', 19], ['NET_SET_MTU', 20], ['SET_SLAVE_REQ_FD', 21],
    ['IOTLB_MSG', 22], ['SET_VRING_ENDIAN', 23], ['GET_CONFIG', 24], ['SET_CONFIG', 25], ['CREATE_CRYPTO_SESSION', 26],
    ['CLOSE_CRYPTO_SESSION', 27], ['POSTCOPY_ADVISE', 28], ['POSTCOPY_LISTEN', 29], ['POSTCOPY_END', 30], ['GET_INFLIGHT_FD', 31],
    ['SET_INFLIGHT_FD', 32],
  ]);
  assert.deepEqual(table(txt.backEnd, 'VHOST_USER_'), [['SLAVE_IOTLB_MSG', 1], ['SLAVE_CONFIG_CHANGE_MSG', 2], ['SLAVE_VRING_HOST_NOTIFIER_MSG', 3]]);
  assert.deepEqual(table(txt.protocolFeatures, 'VHOST_USER_PROTOCOL_F_'), [
    ['MQ', 0], ['LOG_SHMFD', 1], ['RARP', 2], ['REPLY_ACK', 3], ['MTU', 4], ['SLAVE_REQ', 5], ['CROSS_ENDIAN', 6],
    ['CRYPTO_SESSION', 7], ['PAGEFAULT', 8], ['CONFIG', 9], ['SLAVE_SEND_FD', 10], ['HOST_NOTIFIER', 11], ['INFLIGHT_SHMFD', 12],
  ]);
  assert.deepEqual(txt.virtioFeatures.map((f) => [f.name, f.bit]), [['VHOST_USER_F_PROTOCOL_FEATURES', 30]]);
  assert.deepEqual(txt.headerFlags.map((f) => [f.name, f.mask]), [['VERSION', 3], ['REPLY', 4], ['NEED_REPLY', 8]]);
  // Master payload is the request, Slave payload the reply; for slave messages the other way round.
  const getFeatures = txt.frontEnd[0];
  assert.equal(getFeatures?.requestPayload, 'N/A');
  assert.equal(getFeatures?.replyPayload, 'u64');
  assert.equal(txt.frontEnd.find((m) => m.id === 2)?.ioctl, 'VHOST_SET_FEATURES'); // written "Ioctl:" there
  assert.equal(txt.backEnd[0]?.requestPayload, 'struct vhost_iotlb_msg');
});

test('vhost-user.txt (2018): 30 front-end, 2 slave messages, 9 protocol features', () => {
  const old = parseSpec(readFileSync(oldTxtPath, 'utf8'), oldTxtPath);
  assert.deepEqual(old.frontEnd.map((m) => m.id), [1, 2, 15, 16, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
  assert.deepEqual(table(old.backEnd, 'VHOST_USER_'), [['SLAVE_IOTLB_MSG', 1], ['SLAVE_CONFIG_CHANGE_MSG', 2]]);
  assert.deepEqual(old.protocolFeatures.map((f) => f.bit), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
});

function statementAt(m: SpecModel, re: RegExp): { line: number; kinds: readonly string[]; message: string | undefined } {
  const s = m.statements.find((x) => re.test(x.text));
  assert.ok(s, `no statement matches ${String(re)}`);
  return s;
}

test('statements: dependencies, orders and reply obligations keep their sentence and line in both forms', () => {
  for (const [m, text] of [[rst, rstText], [txt, txtText]] as const) {
    const listen = statementAt(m, /always sent sometime after a VHOST_USER_POSTCOPY_ADVISE/);
    assert.deepEqual([...listen.kinds].sort(), ['dependency', 'order']);
    assert.equal(listen.message, 'VHOST_USER_POSTCOPY_LISTEN');
    assert.equal(listen.line, lineOf(text, /This is always sent sometime after/));
    const legal = statementAt(m, /^Only legal if feature bit VHOST_USER_F_PROTOCOL_FEATURES is present in VHOST_USER_GET_FEATURES\.$/);
    assert.ok(legal.kinds.includes('dependency'));
    const mtu = statementAt(m, /must respond with zero in case the specified MTU is valid/);
    assert.ok(mtu.kinds.includes('reply'));
  }
  assert.deepEqual(rst.replyRequired.map((r) => [r.message.replace('VHOST_USER_', ''), r.ifFeature?.replace('VHOST_USER_PROTOCOL_F_', '') ?? null]), [
    ['GET_FEATURES', null], ['GET_PROTOCOL_FEATURES', null], ['GET_VRING_BASE', null], ['SET_LOG_BASE', 'LOG_SHMFD'], ['GET_INFLIGHT_FD', 'INFLIGHT_SHMFD'],
  ]);
  assert.equal(txt.fdCarrying.length, 8);
  assert.equal(rst.fdCarrying.length, 10);
});
