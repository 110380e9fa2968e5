import * as vscode from 'vscode';
import {
  cancelMigration, checkMigrationUri, pauseMigration, recoverMigration, runPairedMigration, setCapabilities, setParameters,
  startIncoming, startMigration, startPostcopy,
} from '../../core/migration/actions';
import { parseParameterValue, type ParameterSpec } from '../../core/monitor/features';
import { summaryLine } from '../../core/monitor/samples';
import { liveConnections, onLive, reporting, showOutputAction, type CommandHandler, type ErrorAction, type Live } from './pick';
import type { QmpSession } from './session';

const historyKey = 'qemuMigration.migrateUriHistory';
const templates = ['unix:/tmp/qmig-migration.sock', 'tcp:127.0.0.1:4444', 'tcp:0:4444', 'exec:cat > /tmp/qmig-vmstate', 'file:/tmp/qmig-vmstate,offset=0'];

/** A URI from history, a template, or typed; remembered most-recent first. */
async function pickUri(memento: vscode.Memento, title: string): Promise<string | undefined> {
  const history = memento.get<string[]>(historyKey, []);
  const items: vscode.QuickPickItem[] = [
    ...history.map((u) => ({ label: u, description: 'recent' })),
    ...templates.filter((t) => !history.includes(t)).map((t) => ({ label: t, description: 'template' })),
  ];
  const qp = vscode.window.createQuickPick();
  qp.title = title;
  qp.placeholder = 'Migration URI (tcp:, unix:, exec:, file:) — type to edit';
  qp.items = items;
  qp.ignoreFocusOut = true;
  const uri = await new Promise<string | undefined>((resolve) => {
    qp.onDidAccept(() => resolve(qp.selectedItems[0]?.label ?? qp.value));
    qp.onDidHide(() => resolve(undefined));
    qp.onDidChangeValue((v) => {
      qp.items = v && !items.some((i) => i.label === v) ? [{ label: v, description: 'typed' }, ...items] : items;
    });
    qp.show();
  });
  qp.dispose();
  if (!uri) return undefined;
  const checked = checkMigrationUri(uri);
  if (!checked.ok) {
    void vscode.window.showErrorMessage(checked.message);
    return undefined;
  }
  await memento.update(historyKey, [checked.uri, ...history.filter((h) => h !== checked.uri)].slice(0, 10));
  return checked.uri;
}

async function warnFirst(l: Live): Promise<boolean> {
  const w = l.monitor.warnings();
  if (w.length === 0) return true;
  const go = await vscode.window.showWarningMessage(`${l.conn.spec.label}: ${w.map((x) => x.message).join('; ')}`, { modal: true }, 'Start anyway');
  return go === 'Start anyway';
}

export async function editParameter(l: Live, name: string): Promise<void> {
  const spec: ParameterSpec = l.monitor.features.parameters.find((p) => p.name === name) ?? { name, kind: 'other', type: 'JSON' };
  const current = l.monitor.parameters[name];
  let text: string | undefined;
  if (spec.kind === 'enum' || spec.kind === 'bool') {
    const values = spec.kind === 'enum' ? spec.values : ['on', 'off'];
    text = (await vscode.window.showQuickPick(values.map((v) => ({ label: v, description: v === String(current) ? 'current' : '' })), { title: `${name} on ${l.conn.spec.label}` }))?.label;
  } else {
    text = await vscode.window.showInputBox({
      title: `${name} on ${l.conn.spec.label}`,
      prompt: spec.kind === 'int' ? `integer ${spec.min}..${spec.max}` : spec.kind === 'other' ? `${spec.type}, as JSON` : 'text',
      value: typeof current === 'string' ? current : JSON.stringify(current ?? ''),
      validateInput: (v) => {
        const p = parseParameterValue(spec, v);
        return p.ok ? undefined : p.message;
      },
    });
  }
  if (text === undefined) return;
  const parsed = parseParameterValue(spec, text);
  if (!parsed.ok) throw new Error(parsed.message);
  await setParameters(l.monitor, { [name]: parsed.value });
  await l.monitor.refresh();
}

/** The connected source and destination "Migrate Source → Destination" works between, when there is exactly such a pair. */
export function migrationPair(session: QmpSession): { src: Live; dst: Live } | undefined {
  const live = liveConnections(session);
  const src = live.filter((l) => l.conn.spec.role === 'source');
  const dst = live.filter((l) => l.conn.spec.role === 'destination');
  return src.length === 1 && dst.length === 1 ? { src: src[0]!, dst: dst[0]! } : undefined;
}

/** "Show src Output", "Show dst Output": each side's QMP traffic. */
function sideOutputs(session: QmpSession, ...sides: Live[]): ErrorAction[] {
  return sides.map((l) => ({ ...showOutputAction(session, l), title: `Show ${l.conn.spec.label} Output` }));
}

/** Source → destination with the capabilities both have, chosen once and set on both; progress in a notification. */
async function migratePair(session: QmpSession, src: Live, dst: Live): Promise<void> {
  const s = src.monitor;
  const d = dst.monitor;
  const common = s.features.capabilities.filter((c) => d.features.capabilities.includes(c));
  const on = common.filter((c) => s.capabilities[c] === true || d.capabilities[c] === true);
  const caps = await vscode.window.showQuickPick(common.map((c) => ({ label: c, picked: on.includes(c) })), {
    canPickMany: true, title: `Capabilities for ${src.conn.spec.label} → ${dst.conn.spec.label} (set on both)`, ignoreFocusOut: true,
  });
  if (!caps) return;
  const chosen = new Set(caps.map((c) => c.label));
  const capabilities = Object.fromEntries(common.map((c) => [c, chosen.has(c)]));
  const parameters: Record<string, unknown> = {};
  for (const p of ['multifd-channels', 'multifd-compression', 'zero-page-detection', 'mode']) {
    if (s.parameters[p] !== undefined && d.features.parameters.some((x) => x.name === p)) parameters[p] = s.parameters[p];
  }
  const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `${src.conn.spec.label} → ${dst.conn.spec.label}`, cancellable: true }, async (progress, token) => {
    const ac = new AbortController();
    const sub = token.onCancellationRequested(() => ac.abort());
    let last = 0;
    try {
      return await runPairedMigration(s, d, { capabilities, parameters }, {
        signal: ac.signal,
        onStep: (step) => progress.report({ message: step }),
        onProgress: (info) => {
          const pct = info.ram && info.ram.total > 0 ? Math.round(100 * (1 - info.ram.remaining / info.ram.total)) : 0;
          progress.report({ message: summaryLine(info), increment: Math.max(0, pct - last) });
          last = Math.max(last, pct);
        },
        onWarnings: (w) => w.forEach((x) => session.channel(src.conn.spec).appendLine(`warning: ${x.message}`)),
      });
    } finally {
      sub.dispose();
    }
  });
  await Promise.all([s.refresh(), d.refresh()]);
  const text = `Migration ${src.conn.spec.label} → ${dst.conn.spec.label} ${r.status}: ${summaryLine(r.source)}`;
  if (r.status === 'completed') { void vscode.window.showInformationMessage(text); return; }
  // What went wrong is in either side's QMP traffic (the error-desc, the events).
  const actions = sideOutputs(session, src, dst);
  const choice = await vscode.window.showErrorMessage(text, ...actions.map((a) => a.title));
  await actions.find((a) => a.title === choice)?.run();
}

export function migrationCommands(session: QmpSession, memento: vscode.Memento): Array<[string, CommandHandler]> {
  return [
    ['qemuMigration.migrate', onLive(session, 'Migrate', async (l) => {
      if (!(await warnFirst(l))) return;
      const uri = await pickUri(memento, `Migrate ${l.conn.spec.label} to…`);
      if (uri) await startMigration(l.monitor, uri);
    }, (x) => x.conn.spec.role !== 'destination')],
    ['qemuMigration.migrateIncoming', onLive(session, 'Migrate Incoming', async (l) => {
      const uri = await pickUri(memento, `Incoming URI for ${l.conn.spec.label}`);
      if (uri) await startIncoming(l.monitor, uri);
    }, (x) => x.conn.spec.role !== 'source')],
    ['qemuMigration.startPostcopy', onLive(session, 'Start Postcopy', (l) => startPostcopy(l.monitor))],
    ['qemuMigration.cancelMigration', onLive(session, 'Cancel Migration', (l) => cancelMigration(l.monitor))],
    ['qemuMigration.pauseMigration', onLive(session, 'Pause Migration', async (l) => { await pauseMigration(l.monitor); })],
    ['qemuMigration.recoverMigration', onLive(session, 'Recover Migration', async (l) => {
      const uri = await pickUri(memento, `Recovery URI for ${l.conn.spec.label}`);
      if (uri) await recoverMigration(l.monitor, l.conn.spec.role, uri);
    })],
    ['qemuMigration.setCapabilities', onLive(session, 'Set Capabilities', async (l) => {
      const items = l.monitor.features.capabilities.map((c) => ({ label: c, picked: l.monitor.capabilities[c] === true }));
      const chosen = await vscode.window.showQuickPick(items, { canPickMany: true, title: `Capabilities of ${l.conn.spec.label}` });
      if (!chosen) return;
      const on = new Set(chosen.map((c) => c.label));
      await setCapabilities(l.monitor, Object.fromEntries(items.filter((i) => on.has(i.label) !== i.picked).map((i) => [i.label, on.has(i.label)])));
      await l.monitor.refresh();
    })],
    ['qemuMigration.setParameter', onLive(session, 'Set Parameter', async (l) => {
      const name = await vscode.window.showQuickPick(l.monitor.features.parameters.map((p) => p.name).sort(), { title: `Parameter of ${l.conn.spec.label}` });
      if (name) await editParameter(l, name);
    })],
    ['qemuMigration.editParameter', onLive(session, 'Set Parameter', async (l, node) => {
      if (node?.kind === 'parameter') await editParameter(l, node.name);
    })],
    ['qemuMigration.setMode', onLive(session, 'Set Migration Mode', async (l) => {
      if (l.monitor.features.modes.length === 0) {
        void vscode.window.showInformationMessage(`QEMU ${l.monitor.version} has no migration modes (the mode parameter came in QEMU 8.2).`);
        return;
      }
      await editParameter(l, 'mode');
    })],
    // Offered only while there is a connected source and destination (the qemuMigration.pairReady context).
    ['qemuMigration.migratePair', async () => {
      const pair = migrationPair(session);
      if (!pair) {
        const connect = 'Connect to QMP…';
        const choice = await vscode.window.showWarningMessage('Migrate Source → Destination needs one connected QEMU as source and one as destination.', connect);
        if (choice === connect) await vscode.commands.executeCommand('qemuMigration.connectQmp');
        return;
      }
      await reporting('Migrate Source → Destination', () => migratePair(session, pair.src, pair.dst), sideOutputs(session, pair.src, pair.dst));
    }],
  ];
}
