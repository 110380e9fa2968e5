// A real postcopy migration between two QEMU 7.2 processes, each with a DPDK testpmd vhost-user
// back-end, with strace on the destination back-end; the recorded flows must pass the rules.
// QMW_KEEP_RECORDING=DIR keeps the recorded files (this is how src/core/vhostuser/testdata was made).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { hasProgram, requireComponent } from '../support/components';
import { main } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/command';
import { checkText } from '../../src/core/vhostuser/check';
import { loadSpec } from '../../src/core/vhostuser/specSource';
import { checkUnixSocketPath } from '../../src/core/qmp/socketPath';

/** On PATH, without running it (testpmd would start DPDK's EAL just to print its version). */
const onPath = (bin: string): boolean => (process.env.PATH ?? '').split(delimiter).some((d) => d !== '' && existsSync(join(d, bin)));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Minimal line-oriented QMP client for this test only. */
class Qmp {
  private buf = '';
  private waiting: ((v: Record<string, unknown>) => void)[] = [];
  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i).trim();
        this.buf = this.buf.slice(i + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as Record<string, unknown>;
        if ('return' in msg || 'error' in msg) this.waiting.shift()?.(msg);
      }
    });
  }
  static async open(path: string): Promise<Qmp> {
    checkUnixSocketPath(path, 'QMP socket');
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = connect(path, () => resolve(s));
      s.once('error', reject);
    });
    const q = new Qmp(sock);
    await q.cmd('qmp_capabilities');
    return q;
  }
  cmd(execute: string, args?: Record<string, unknown>): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.waiting.push((m) => ('error' in m ? reject(new Error(`${execute}: ${JSON.stringify(m.error)}`)) : resolve(m)));
      this.sock.write(JSON.stringify(args ? { execute, arguments: args } : { execute }) + '\n');
    });
  }
  close(): void { this.sock.destroy(); }
}

function qemuArgs(d: string, side: 'src' | 'dst'): string[] {
  const a = [
    '-M', 'pc', '-m', '512', '-nographic', '-nodefaults', '-accel', 'kvm', '-accel', 'tcg',
    '-object', 'memory-backend-memfd,id=mem,size=512M,share=on', '-numa', 'node,memdev=mem',
    '-chardev', `socket,id=c0,path=${join(d, `${side}-vh.sock`)}`, '-netdev', 'vhost-user,id=n0,chardev=c0',
    '-device', 'virtio-net-pci,netdev=n0',
    '-qmp', `unix:${join(d, `${side}-qmp.sock`)},server=on,wait=off`,
    '-trace', 'enable=vhost_user_*',
    '-D', join(d, `${side}-trace.log`), '-msg', 'timestamp=on',
  ];
  if (side === 'dst') a.push('-incoming', 'defer');
  return a;
}

function testpmdArgs(d: string, side: 'src' | 'dst'): string[] {
  return ['--no-huge', '-m', '1024', '--no-pci', `--file-prefix=qmw-vu-${process.pid}-${side}`,
    '--vdev', `net_vhost0,iface=${join(d, `${side}-vh.sock`)},queues=1,postcopy-support=1`,
    '--log-level=lib.vhost.config:debug', '--', '--no-mlockall', '--total-num-mbufs=2048', '--stats-period', '30'];
}

test('a real QEMU 7.2 + testpmd postcopy migration passes the vhost-user rules', { timeout: 120_000 }, async (t) => {
  if (!requireComponent(t, 'qemu-system-x86_64', hasProgram('qemu-system-x86_64'))) return;
  if (!requireComponent(t, 'dpdk-testpmd', onPath('dpdk-testpmd'))) return;
  if (!requireComponent(t, 'strace', hasProgram('strace', ['-V']))) return;

  const d = mkdtempSync(join(tmpdir(), 'qmw-vu-'));
  const procs: ChildProcess[] = [];
  const qmps: Qmp[] = [];
  const start = (bin: string, args: string[], log: string): ChildProcess => {
    const fd = openSync(join(d, log), 'w');
    const p = spawn(bin, args, { stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    procs.push(p);
    return p;
  };
  // `qmig vhost-user capture` records the destination back-end until its signal aborts.
  const abort = new AbortController();
  let captureErr = '';
  const io: CliIo = { out: () => undefined, err: (t) => { captureErr += t; }, signal: abort.signal, isTty: false };
  const capture: { done?: Promise<number> } = {};
  const stopCapture = async (): Promise<number | undefined> => { abort.abort(); return capture.done; };
  t.after(async () => {
    for (const q of qmps) q.close();
    await stopCapture();
    for (const p of procs) {
      if (p.pid !== undefined && p.exitCode === null && p.signalCode === null) {
        try { process.kill(-p.pid, 'SIGTERM'); } catch { /* gone */ }
      }
    }
    await sleep(300);
    for (const p of procs) {
      if (p.pid !== undefined && p.exitCode === null && p.signalCode === null) {
        try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ }
      }
    }
    const keep = process.env.QMW_KEEP_RECORDING;
    if (keep) cpSync(d, keep, { recursive: true, filter: (p) => !p.endsWith('.sock') });
    rmSync(d, { recursive: true, force: true });
  });

  const pmdDst = start('dpdk-testpmd', testpmdArgs(d, 'dst'), 'dst-testpmd.log');
  start('dpdk-testpmd', testpmdArgs(d, 'src'), 'src-testpmd.log');
  await waitFor('testpmd sockets', () => existsSync(join(d, 'dst-vh.sock')) && existsSync(join(d, 'src-vh.sock')));
  assert.ok(pmdDst.pid);
  capture.done = main(['vhost-user', 'capture', '--pid', String(pmdDst.pid), '--out', join(d, 'dst-strace.txt')], io);
  await waitFor('strace to attach', () => /capturing process/.test(captureErr));

  start('qemu-system-x86_64', qemuArgs(d, 'src'), 'src-qemu.out');
  start('qemu-system-x86_64', qemuArgs(d, 'dst'), 'dst-qemu.out');
  await waitFor('QMP sockets', () => existsSync(join(d, 'src-qmp.sock')) && existsSync(join(d, 'dst-qmp.sock')));
  await sleep(200);
  const src = await Qmp.open(join(d, 'src-qmp.sock'));
  qmps.push(src);
  const dst = await Qmp.open(join(d, 'dst-qmp.sock'));
  qmps.push(dst);
  for (const q of [src, dst]) {
    await q.cmd('migrate-set-capabilities', { capabilities: [{ capability: 'postcopy-ram', state: true }] });
  }
  await src.cmd('migrate-set-parameters', { 'max-bandwidth': 2 * 1024 * 1024 });
  await dst.cmd('migrate-incoming', { uri: `unix:${join(d, 'mig.sock')}` });
  await src.cmd('migrate', { uri: `unix:${join(d, 'mig.sock')}` });
  await src.cmd('migrate-start-postcopy');
  let status = '';
  const end = Date.now() + 60_000;
  while (status !== 'completed' && Date.now() < end) {
    await sleep(100);
    const r = await src.cmd('query-migrate');
    status = String((r.return as Record<string, unknown>).status);
    assert.notEqual(status, 'failed');
  }
  assert.equal(status, 'completed');
  // The destination ends postcopy (POSTCOPY_END) after it has received everything.
  await waitFor('POSTCOPY_END in the destination trace', () => /vhost_user_write req:30 /.test(readFileSync(join(d, 'dst-trace.log'), 'utf8')), 20_000);
  await sleep(300);
  assert.equal(await stopCapture(), 0, captureErr);

  const spec = loadSpec({});
  for (const [file, minMessages] of [['dst-trace.log', 10], ['dst-testpmd.log', 10], ['dst-strace.txt', 10]] as const) {
    const result = checkText(readFileSync(join(d, file), 'utf8'), spec);
    assert.ok(result.messageCount >= minMessages, `${file}: only ${result.messageCount} messages`);
    assert.deepEqual(result.violations, [], `${file}: ${JSON.stringify(result.violations, null, 1)}`);
    const names = result.flow.messages.map((m) => m.name);
    assert.ok(names.includes('VHOST_USER_POSTCOPY_ADVISE') && names.includes('VHOST_USER_POSTCOPY_LISTEN') && names.includes('VHOST_USER_POSTCOPY_END'), `${file}: postcopy messages missing`);
  }
});
