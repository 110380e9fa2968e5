import * as vscode from 'vscode';
import {
  cancelMigration, checkMigrationUri, parseParameterValue, pauseMigration, recoverMigration, runPairedMigration, setCapabilities, setParameters,
  startIncoming, startMigration, startPostcopy, summaryLine, type ParameterSpec,
} from '../../core/monitor';
import type { ConnNode } from '../connections';
import { pickConnection, reporting, type Live } from './pick';
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

export function migrationCommands(session: QmpSession, memento: vscode.Memento): Array<[string, (node?: unknown) => Promise<void>]> {
  const pick = (node: unknown): Promise<Live | undefined> => pickConnection(session, node);
  return [
    ['qemuMigration.migrate', (node) => reporting('Migrate', async () => {
      const l = await pickConnection(session, node, (x) => x.conn.spec.role !== 'destination');
      if (!l || !(await warnFirst(l))) return;
      const uri = await pickUri(memento, `Migrate ${l.conn.spec.label} to…`);
      if (uri) await startMigration(l.monitor, uri);
    })],
    ['qemuMigration.migrateIncoming', (node) => reporting('Migrate Incoming', async () => {
      const l = await pickConnection(session, node, (x) => x.conn.spec.role !== 'source');
      const uri = l && (await pickUri(memento, `Incoming URI for ${l.conn.spec.label}`));
      if (l && uri) await startIncoming(l.monitor, uri);
    })],
    ['qemuMigration.startPostcopy', (node) => reporting('Start Postcopy', async () => {
      const l = await pick(node);
      if (l) await startPostcopy(l.monitor);
    })],
    ['qemuMigration.cancelMigration', (node) => reporting('Cancel Migration', async () => {
      const l = await pick(node);
      if (l) await cancelMigration(l.monitor);
    })],
    ['qemuMigration.pauseMigration', (node) => reporting('Pause Migration', async () => {
      const l = await pick(node);
      if (l) await pauseMigration(l.monitor);
    })],
    ['qemuMigration.recoverMigration', (node) => reporting('Recover Migration', async () => {
      const l = await pick(node);
      if (!l) return;
      const uri = await pickUri(memento, `Recovery URI for ${l.conn.spec.label}`);
      if (!uri) return;
      await recoverMigration(l.monitor, l.conn.spec.role, uri);
    })],
    ['qemuMigration.setCapabilities', (node) => reporting('Set Capabilities', async () => {
      const l = await pick(node);
      if (!l) return;
      const items = l.monitor.features.capabilities.map((c) => ({ label: c, picked: l.monitor.capabilities[c] === true }));
      const chosen = await vscode.window.showQuickPick(items, { canPickMany: true, title: `Capabilities of ${l.conn.spec.label}` });
      if (!chosen) return;
      const on = new Set(chosen.map((c) => c.label));
      await setCapabilities(l.monitor, Object.fromEntries(items.filter((i) => on.has(i.label) !== i.picked).map((i) => [i.label, on.has(i.label)])));
      await l.monitor.refresh();
    })],
    ['qemuMigration.setParameter', (node) => reporting('Set Parameter', async () => {
      const l = await pick(node);
      if (!l) return;
      const name = await vscode.window.showQuickPick(l.monitor.features.parameters.map((p) => p.name), { title: `Parameter of ${l.conn.spec.label}` });
      if (name) await editParameter(l, name);
    })],
    ['qemuMigration.editParameter', (node) => reporting('Set Parameter', async () => {
      const n = node as Extract<ConnNode, { kind: 'parameter' }> | undefined;
      const l = await pick(node);
      if (l && n?.name) await editParameter(l, n.name);
    })],
    ['qemuMigration.setMode', (node) => reporting('Set Migration Mode', async () => {
      const l = await pick(node);
      if (!l) return;
      if (l.monitor.features.modes.length === 0) {
        void vscode.window.showInformationMessage(`QEMU ${l.monitor.version} has no migration modes (the mode parameter came in QEMU 8.2).`);
        return;
      }
      await editParameter(l, 'mode');
    })],
    ['qemuMigration.migratePair', () => reporting('Migrate Source → Destination', async () => {
      const src = session.connected().find((c) => c.spec.role === 'source');
      const dst = session.connected().find((c) => c.spec.role === 'destination');
      if (!src?.monitor || !dst?.monitor) throw new Error('connect one QEMU as source and one as destination first');
      const s = src.monitor;
      const d = dst.monitor;
      const common = s.features.capabilities.filter((c) => d.features.capabilities.includes(c));
      const on = common.filter((c) => s.capabilities[c] === true || d.capabilities[c] === true);
      const caps = await vscode.window.showQuickPick(common.map((c) => ({ label: c, picked: on.includes(c) })), {
        canPickMany: true, title: `Capabilities for ${src.spec.label} → ${dst.spec.label} (set on both)`, ignoreFocusOut: true,
      });
      if (!caps) return;
      const chosen = new Set(caps.map((c) => c.label));
      const capabilities = Object.fromEntries(common.map((c) => [c, chosen.has(c)]));
      const parameters: Record<string, unknown> = {};
      for (const p of ['multifd-channels', 'multifd-compression', 'zero-page-detection', 'mode']) {
        if (s.parameters[p] !== undefined && d.features.parameters.some((x) => x.name === p)) parameters[p] = s.parameters[p];
      }
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `${src.spec.label} → ${dst.spec.label}`, cancellable: true }, async (progress, token) => {
        const ac = new AbortController();
        token.onCancellationRequested(() => ac.abort());
        let last = 0;
        const r = await runPairedMigration(s, d, { capabilities, parameters }, {
          signal: ac.signal,
          onStep: (step) => progress.report({ message: step }),
          onProgress: (info) => {
            const pct = info.ram && info.ram.total > 0 ? Math.round(100 * (1 - info.ram.remaining / info.ram.total)) : 0;
            progress.report({ message: summaryLine(info), increment: Math.max(0, pct - last) });
            last = Math.max(last, pct);
          },
          onWarnings: (w) => w.forEach((x) => session.channel(src.spec).appendLine(`warning: ${x.message}`)),
        });
        await Promise.all([s.refresh(), d.refresh()]);
        const text = `Migration ${src.spec.label} → ${dst.spec.label} ${r.status}: ${summaryLine(r.source)}`;
        if (r.status === 'completed') void vscode.window.showInformationMessage(text);
        else void vscode.window.showErrorMessage(text);
      });
    })],
  ];
}
