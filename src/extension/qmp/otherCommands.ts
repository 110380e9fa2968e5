import * as vscode from 'vscode';
import { validateQmpInput } from '../../core/monitor/qmpInput';
import { formatSeconds } from '../../core/units';
import { asConnNode, liveConnections, onConnection, onLive, reporting, type CommandHandler, type Live } from './pick';
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

export function otherCommands(session: QmpSession): Array<[string, CommandHandler]> {
  const job = (command: 'snapshot-save' | 'snapshot-load' | 'snapshot-delete'): CommandHandler =>
    onLive(session, command, (l) => runJob(l, command, session), (x) => x.monitor.features.commands.has(command));
  return [
    ['qemuMigration.snapshotSave', job('snapshot-save')],
    ['qemuMigration.snapshotLoad', job('snapshot-load')],
    ['qemuMigration.snapshotDelete', job('snapshot-delete')],
    ['qemuMigration.sendQmpCommand', onLive(session, 'QMP command', async (l) => {
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
    ['qemuMigration.sendHmpCommand', onLive(session, 'HMP command', async (l) => {
      const line = await vscode.window.showInputBox({ title: `HMP command to ${l.conn.spec.label}`, prompt: 'e.g. info migrate', ignoreFocusOut: true });
      if (!line) return;
      const ch = session.channel(l.conn.spec);
      ch.show(true);
      const out = await l.monitor.execute<string>('human-monitor-command', { 'command-line': line });
      ch.appendLine(`(hmp) ${line}\n${out}`);
    })],
    ['qemuMigration.showConnectionOutput', onConnection(session, 'Show output', (c) => session.channel(c.spec).show(true))],
    ['qemuMigration.disconnectQmp', onConnection(session, 'Disconnect', (c) => session.forget(c.spec.id))],
    ['qemuMigration.reconnectQmp', (arg) => reporting('Reconnect', async () => {
      const node = asConnNode(arg);
      for (const c of node ? [session.manager.get(node.id)] : session.manager.list()) c?.start();
    })],
    ['qemuMigration.refreshConnections', () => reporting('Refresh', async () => {
      await Promise.all(liveConnections(session).map((l) => l.monitor.refresh()));
    })],
  ];
}
