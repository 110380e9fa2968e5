import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkText, detectFormat, type CheckResult } from './check';
import { builtinSpec, loadSpecFile } from './specSource';
import { lineOf, recording, repoRoot, rstPath, txtPath } from './testSupport';

const spec = builtinSpec();
const specs = [spec, loadSpecFile(rstPath), loadSpecFile(txtPath)];

const rulesOf = (r: CheckResult): string[] => r.violations.map((v) => `${v.rule}@${v.line}`);

test('the real QEMU 7.2 + testpmd postcopy run passes, read from each of its three sources and against each spec', () => {
  for (const s of specs) {
    for (const kind of ['dst-trace.log', 'dst-testpmd.log', 'dst-strace.txt'] as const) {
      const r = checkText(recording(kind), s);
      assert.ok(r.messageCount >= 30, `${kind}: ${r.messageCount} messages`);
      assert.deepEqual(r.violations, [], `${kind} against ${s.source}`);
    }
  }
  assert.equal(detectFormat(recording('dst-trace.log')), 'qemu-trace');
  assert.equal(detectFormat(recording('dst-testpmd.log')), 'dpdk-log');
  assert.equal(detectFormat(recording('dst-strace.txt')), 'strace');
});

test('what a source cannot show is "unknown", never guessed: QEMU traces carry no payloads', () => {
  const trace = checkText(recording('dst-trace.log'), spec);
  const unknown = trace.unknown.map((u) => u.rule);
  assert.ok(unknown.includes('postcopy-advise-needs-pagefault'));
  assert.ok(unknown.includes('set-protocol-features-needs-f-protocol-features'));
  assert.equal(trace.unknown.find((u) => u.rule === 'needs-feature/SEND_RARP')?.count, 5);
  // testpmd prints the negotiated protocol features, so PAGEFAULT is decided there ...
  const dpdk = checkText(recording('dst-testpmd.log'), spec);
  assert.ok(!dpdk.unknown.some((u) => u.rule === 'postcopy-advise-needs-pagefault'));
  // ... and the strace capture shows every payload, so nothing is left undecided.
  assert.deepEqual(checkText(recording('dst-strace.txt'), spec).unknown, []);
});

test('the strace decoder rebuilds headers, payloads and fds of the real capture', () => {
  const r = checkText(recording('dst-strace.txt'), spec);
  const m = r.flow.messages;
  assert.equal(r.flow.connection, 'fd 23');
  assert.deepEqual(m.slice(0, 4).map((x) => [x.name, x.isReply, x.flags, x.size]), [
    ['VHOST_USER_GET_FEATURES', false, 0x1, 0], ['VHOST_USER_GET_FEATURES', true, 0x5, 8],
    ['VHOST_USER_GET_PROTOCOL_FEATURES', false, 0x1, 0], ['VHOST_USER_GET_PROTOCOL_FEATURES', true, 0x5, 8],
  ]);
  assert.equal(m.find((x) => x.name === 'VHOST_USER_SET_PROTOCOL_FEATURES')?.u64, 0x10dbfn);
  assert.equal(m[1]?.u64, 0xd7c66e7cbn);
  assert.equal(m.find((x) => x.name === 'VHOST_USER_SET_BACKEND_REQ_FD')?.fds, 1);
  const advise = m.filter((x) => x.name === 'VHOST_USER_POSTCOPY_ADVISE');
  assert.deepEqual(advise.map((x) => [x.isReply, x.fds]), [[false, 0], [true, 1]]); // the userfaultfd comes back
});

// Derived sequences: the real recording with exactly one change each.
test('END moved before LISTEN fails postcopy-end-after-listen at the END line', () => {
  const lines = recording('dst-trace.log').split('\n');
  const end = lines.findIndex((l) => /vhost_user_write req:30 /.test(l));
  const listen = lines.findIndex((l) => /vhost_user_write req:29 /.test(l));
  const moved = lines.splice(end, 2); // the write and its read
  lines.splice(listen, 0, ...moved);
  const text = lines.join('\n');
  const r = checkText(text, spec);
  assert.deepEqual(rulesOf(r), [`postcopy-end-after-listen@${lineOf(text, /vhost_user_write req:30 /)}`]);
  assert.match(r.violations[0]?.sentence ?? '', /after VHOST_USER_POSTCOPY_LISTEN was previously sent/);
  assert.equal(r.violations[0]?.specLine, lineOf(readFileSync(rstPath, 'utf8'), /When .*PAGEFAULT.* is supported, this message/));
});

test('ADVISE without PAGEFAULT negotiated fails postcopy-advise-needs-pagefault at the ADVISE line', () => {
  // testpmd's log with protocol features 0x10dbf -> 0x10cbf (bit 8 cleared)
  const dpdk = recording('dst-testpmd.log').replace('protocol features: 0x10dbf', 'protocol features: 0x10cbf');
  const r = checkText(dpdk, spec);
  const advise = lineOf(dpdk, /read message VHOST_USER_POSTCOPY_ADVISE/);
  assert.ok(rulesOf(r).includes(`postcopy-advise-needs-pagefault@${advise}`), rulesOf(r).join(' '));
  assert.match(r.violations.find((v) => v.rule === 'postcopy-advise-needs-pagefault')?.message ?? '', /without VHOST_USER_PROTOCOL_F_PAGEFAULT \(negotiated protocol features 0x10cbf\)/);
  // the same change in the strace capture: SET_PROTOCOL_FEATURES payload bf 0d 01 -> bf 0c 01
  const strace = recording('dst-strace.txt').replace('read(23, "\\xbf\\x0d\\x01', 'read(23, "\\xbf\\x0c\\x01');
  const s = checkText(strace, spec);
  assert.equal(s.violations[0]?.rule, 'postcopy-advise-needs-pagefault');
  assert.equal(s.violations[0]?.line, lineOf(strace, /recvmsg\(23, .*iov_base="\\x1c\\x00\\x00\\x00\\x01/));
});

test('SET_PROTOCOL_FEATURES when GET_FEATURES did not offer bit 30 fails at the SET_PROTOCOL_FEATURES line', () => {
  // GET_FEATURES reply 0xd7c66e7cb -> 0xd3c66e7cb (bit 30 cleared), in both replies
  const strace = recording('dst-strace.txt').replaceAll('\\x08\\x00\\x00\\x00\\xcb\\xe7\\x66\\x7c', '\\x08\\x00\\x00\\x00\\xcb\\xe7\\x66\\x3c');
  const r = checkText(strace, spec);
  const set = lineOf(strace, /recvmsg\(23, .*iov_base="\\x10\\x00\\x00\\x00/);
  assert.ok(rulesOf(r).includes(`set-protocol-features-needs-f-protocol-features@${set}`), rulesOf(r).join(' '));
  assert.ok(rulesOf(r).includes(`get-protocol-features-needs-f-protocol-features@${lineOf(strace, /recvmsg\(23, .*iov_base="\\x0f\\x00\\x00\\x00/)}`));
});

test('a missing reply fails the reply rule at the request line', () => {
  const lines = recording('dst-trace.log').split('\n');
  lines.splice(lines.findIndex((l) => /vhost_user_read req:1 /.test(l)), 1);
  const text = lines.join('\n');
  const r = checkText(text, spec);
  assert.deepEqual(rulesOf(r), [`reply-required/GET_FEATURES@${lineOf(text, /vhost_user_write req:1 /)}`]);
  assert.match(r.violations[0]?.message ?? '', /VHOST_USER_GET_FEATURES got no reply before VHOST_USER_GET_PROTOCOL_FEATURES/);
  // the NEED_REPLY ack of POSTCOPY_LISTEN removed from the strace capture
  const s = recording('dst-strace.txt').split('\n');
  const listen = s.findIndex((l) => /recvmsg\(23, .*iov_base="\\x1d\\x00\\x00\\x00\\x09/.test(l));
  s.splice(s.findIndex((l, i) => i > listen && /sendmsg\(23, .*iov_base="\\x1d\\x00/.test(l)), 1);
  const sr = checkText(s.join('\n'), spec);
  assert.deepEqual(rulesOf(sr), [`need-reply-answered@${listen + 1}`]);
});

test('while postcopy listens, SET_MEM_TABLE needs its reply (the regions); before LISTEN it does not', () => {
  const lines = recording('dst-trace.log').split('\n');
  const afterListen = lines.findIndex((l) => /vhost_user_read req:29 /.test(l)) + 1;
  const withWrite = [...lines.slice(0, afterListen), '2@1.0:vhost_user_write req:5 flags:0x1', ...lines.slice(afterListen)].join('\n');
  assert.deepEqual(rulesOf(checkText(withWrite, spec)), [`postcopy-set-mem-table-reply@${afterListen + 1}`]);
  const answered = [...lines.slice(0, afterListen), '2@1.0:vhost_user_write req:5 flags:0x1', '2@1.0:vhost_user_read req:5 flags:0x5', ...lines.slice(afterListen)].join('\n');
  assert.deepEqual(rulesOf(checkText(answered, spec)), []);
  const beforeListen = lines.findIndex((l) => /vhost_user_write req:29 /.test(l));
  const early = [...lines.slice(0, beforeListen), '2@1.0:vhost_user_write req:5 flags:0x1', ...lines.slice(beforeListen)].join('\n');
  assert.deepEqual(rulesOf(checkText(early, spec)), []);
});

test('a GET_FEATURES reply of 4 bytes instead of a u64 fails reply-shape at the reply line', () => {
  const lines = recording('dst-strace.txt').split('\n');
  const i = lines.findIndex((l) => /sendmsg\(23, .*iov_base="\\x01\\x00\\x00\\x00\\x05/.test(l));
  lines[i] = (lines[i] ?? '').replace('\\x08\\x00\\x00\\x00\\xcb\\xe7\\x66\\x7c\\x0d\\x00\\x00\\x00", iov_len=20', '\\x04\\x00\\x00\\x00\\xcb\\xe7\\x66\\x7c", iov_len=16').replace(/= 20$/, '= 16');
  const r = checkText(lines.join('\n'), spec);
  assert.deepEqual(rulesOf(r).slice(0, 1), [`reply-shape/GET_FEATURES@${i + 1}`]);
});

test('NEED_REPLY without REPLY_ACK and INBAND_NOTIFICATIONS without BACKEND_REQ are caught from payloads', () => {
  // protocol features 0x10dbf minus REPLY_ACK (bit 3) = 0x10db7: SET_BACKEND_REQ_FD then has NEED_REPLY without it
  const noAck = recording('dst-strace.txt').replace('read(23, "\\xbf\\x0d\\x01', 'read(23, "\\xb7\\x0d\\x01');
  const r = checkText(noAck, spec);
  assert.equal(r.violations[0]?.rule, 'need-reply-needs-reply-ack');
  assert.equal(r.violations[0]?.line, lineOf(noAck, /recvmsg\(23, .*iov_base="\\x15\\x00\\x00\\x00\\x09/));
  // 0x10dbf | bit 14 (INBAND) minus bit 5 (BACKEND_REQ) = 0x14d9f
  const inband = recording('dst-strace.txt').replace('read(23, "\\xbf\\x0d\\x01', 'read(23, "\\x9f\\x4d\\x01');
  const ir = checkText(inband, spec);
  assert.ok(ir.violations.some((v) => v.rule === 'inband-notifications-need-backend-req-and-reply-ack' && /without VHOST_USER_PROTOCOL_F_BACKEND_REQ/.test(v.message)));
});

test('a libvhost-user style log (hand-written in libvhost-user\'s DPRINT format; no real one can run here)', () => {
  const log = [
    '================ Vhost user message ================',
    'Request: VHOST_USER_GET_FEATURES (1)', 'Flags:   0x1', 'Size:    0', 'Sending back to guest u64: 0x0000000140000000',
    '================ Vhost user message ================',
    'Request: VHOST_USER_SET_PROTOCOL_FEATURES (16)', 'Flags:   0x1', 'Size:    8', 'u64: 0x0000000000000008',
    '================ Vhost user message ================',
    'Request: VHOST_USER_POSTCOPY_ADVISE (28)', 'Flags:   0x1', 'Size:    0',
  ].join('\n');
  const r = checkText(log, spec);
  assert.equal(r.flow.format, 'libvhost-user-log');
  assert.deepEqual(rulesOf(r), ['postcopy-advise-needs-pagefault@12']);
});

test('strace lines split by <unfinished ...> / <... resumed> are joined', () => {
  const text = [
    '101 recvmsg(7,  <unfinished ...>',
    '102 write(1, "\\x41", 1) = 1',
    '101 <... recvmsg resumed>{msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="\\x01\\x00\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00", iov_len=12}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 12',
    '101 sendmsg(7, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="\\x01\\x00\\x00\\x00\\x05\\x00\\x00\\x00\\x08\\x00\\x00\\x00\\x00\\x00\\x00\\x40\\x00\\x00\\x00\\x00", iov_len=20}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, MSG_NOSIGNAL) = 20',
  ].join('\n');
  const r = checkText(text, spec);
  assert.deepEqual(r.flow.messages.map((m) => [m.line, m.name, m.isReply, m.u64]), [[1, 'VHOST_USER_GET_FEATURES', false, undefined], [4, 'VHOST_USER_GET_FEATURES', true, 0x40000000n]]);
});

test('the lab\'s demo recording passes the rules, every flow file of it', () => {
  // The demo recording is part of the repository: a missing file fails, it is never skipped.
  const dir = join(repoRoot, 'demo', 'recordings', 'postcopy-vhost-user');
  for (const f of ['dst-trace.log', 'src-trace.log', 'dst-testpmd.log', 'src-testpmd.log']) {
    const r = checkText(readFileSync(join(dir, f), 'utf8'), spec);
    assert.ok(r.messageCount > 0, `${f}: no vhost-user messages`);
    assert.deepEqual(r.violations, [], f);
  }
});
