import * as vscode from 'vscode';
import { formatSeconds, validateQmpInput } from '../../core/monitor';
import { pickConnection, reporting, type Live } from './pick';
import type { QmpSession } from './session';

async function runJob(l: Live, command: 'snapshot-save' | 'snapshot-load' | 'snapshot-delete', session: QmpSession): Promise<void> {
  const tag = await vscode.window.showInputBox({ title: `${command} on ${l.conn.spec.label}`, prompt: 'Snapshot tag', value: 'qmig-snap' });
  if (!tag) return;
  const blocks = await l.monitor.execute<Array<{ device: string; inserted?: { 'node-name'?: string; ro?: boolean; drv?: string } }>>('query-block');
  const nodes = blocks.flatMap((b) => (b.inserted?.['node-name'] && !b.inserted.ro ? [b.inserted['node-name']] : []));
  if (nodes.length === 0) throw new Error('this QEMU has no writable block device to hold the snapshot (snapshots need a qcow2 disk)');
  const jobId = `qmig-${command}-${Date.now()}`;
  const args: Record<string, unknown> & { 'job-id': string } =
    command === 'snapshot-delete' ? { 'job-id': jobId, tag, devices: nodes } : { 'job-id': jobId, tag, vmstate: nodes[0], devices: nodes };
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `${command} ${tag}` }, async (progress) => {
    const started = performance.now();
    let last = 0;
    const j = await l.monitor.runJob(command, args, (job) => {
      const pct = job['total-progress'] > 0 ? Math.round((100 * job['current-progress']) / job['total-progress']) : 0;
      progress.report({ message: `${job.status} ${pct}%`, increment: Math.max(0, pct - last) });
      last = Math.max(last, pct);
    });
    const took = formatSeconds((performance.now() - started) / 1000);
    session.channel(l.conn.spec).appendLine(`${command} ${tag}: ${j.status}${j.error ? `: ${j.error}` : ''} in ${took}`);
    for (const w of l.monitor.jobWarnings) void vscode.window.showWarningMessage(`${l.conn.spec.label}: ${w.message}`);
    if (j.error) throw new Error(j.error);
    void vscode.window.showInformationMessage(`${command} ${tag} on ${l.conn.spec.label} finished in ${took}`);
  });
}

export function otherCommands(session: QmpSession): Array<[string, (node?: unknown) => Promise<void>]> {
  const pick = (node: unknown): Promise<Live | undefined> => pickConnection(session, node);
  const job = (command: 'snapshot-save' | 'snapshot-load' | 'snapshot-delete') => (node?: unknown) =>
    reporting(command, async () => {
      const l = await pickConnection(session, node, (x) => x.monitor.features.commands.has(command));
      if (l) await runJob(l, command, session);
    });
  return [
    ['qemuMigration.snapshotSave', job('snapshot-save')],
    ['qemuMigration.snapshotLoad', job('snapshot-load')],
    ['qemuMigration.snapshotDelete', job('snapshot-delete')],
    ['qemuMigration.sendQmpCommand', (node) => reporting('QMP command', async () => {
      const l = await pick(node);
      if (!l) return;
      const text = await vscode.window.showInputBox({
        title: `QMP command to ${l.conn.spec.label}`,
        prompt: 'A command name (query-status) or {"execute": "...", "arguments": {...}}',
        validateInput: (v) => {
          const err = validateQmpInput(v);
          if (err) return err;
          const t = v.trim();
          const name = t.startsWith('{') ? String((JSON.parse(t) as Record<string, unknown>)['execute']) : t;
          return l.monitor.features.commands.has(name) ? undefined : `QEMU ${l.monitor.version} has no command '${name}'`;
        },
        ignoreFocusOut: true,
      });
      if (!text) return;
      const t = text.trim();
      const msg = t.startsWith('{') ? (JSON.parse(t) as { execute: string; arguments?: Record<string, unknown> }) : { execute: t };
      const ch = session.channel(l.conn.spec);
      ch.show(true);
      const r = await l.monitor.execute(msg.execute, msg.arguments);
      ch.appendLine(JSON.stringify(r, null, 2));
    })],
    ['qemuMigration.sendHmpCommand', (node) => reporting('HMP command', async () => {
      const l = await pick(node);
      if (!l) return;
      const line = await vscode.window.showInputBox({ title: `HMP command to ${l.conn.spec.label}`, prompt: 'e.g. info migrate', ignoreFocusOut: true });
      if (!line) return;
      const ch = session.channel(l.conn.spec);
      ch.show(true);
      const out = await l.monitor.execute<string>('human-monitor-command', { 'command-line': line });
      ch.appendLine(`(hmp) ${line}\n${out}`);
    })],
    ['qemuMigration.showConnectionOutput', (node) => reporting('Show output', async () => {
      const id = (node as { id?: unknown } | undefined)?.id;
      const c = typeof id === 'string' ? session.manager.get(id) : (await pick(node))?.conn;
      if (c) session.channel(c.spec).show(true);
    })],
    ['qemuMigration.disconnectQmp', (node) => reporting('Disconnect', async () => {
      const id = (node as { id?: unknown } | undefined)?.id;
      const c = typeof id === 'string' ? session.manager.get(id) : (await pick(node))?.conn;
      if (c) await session.forget(c.spec.id);
    })],
    ['qemuMigration.reconnectQmp', (node) => reporting('Reconnect', async () => {
      const id = (node as { id?: unknown } | undefined)?.id;
      const all = typeof id === 'string' ? [session.manager.get(id)] : session.manager.list();
      for (const c of all) c?.start();
    })],
    ['qemuMigration.refreshConnections', () => reporting('Refresh', async () => {
      await Promise.all(session.connected().map((c) => c.monitor?.refresh()));
    })],
  ];
}
