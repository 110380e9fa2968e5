import * as vscode from 'vscode';
import type { ConnectionManager, ManagedConnection } from '../core/monitor/connectionManager';
import type { MigrationMonitor } from '../core/monitor/monitor';
import type { MonitorWarning } from '../core/monitor/checks';
import { progressOf, secondsLeft } from '../core/monitor/samples';
import { parameterRaw, parameterText } from '../core/monitor/parameterText';
import { formatBytes, formatMbps, formatSeconds } from '../core/units';

/** Nodes of the Connections view; every node names its connection by id. */
export type ConnNode =
  | { kind: 'connection'; id: string }
  | { kind: 'group'; id: string; group: 'warnings' | 'migration' | 'capabilities' | 'parameters' | 'threads' | 'jobs' | 'events' }
  | { kind: 'field'; id: string; key: string; label: string; value: string; tooltip?: string }
  | { kind: 'capability'; id: string; name: string; state: boolean }
  | { kind: 'parameter'; id: string; name: string; value: unknown }
  | { kind: 'warning'; id: string; warning: MonitorWarning };

function stateText(c: ManagedConnection): string {
  const s = c.state;
  switch (s.kind) {
    case 'connected':
      return '';
    case 'connecting':
      return s.attempt > 1 ? `connecting (attempt ${s.attempt})` : 'connecting';
    case 'waiting':
      return `reconnecting in ${Math.max(0, Math.ceil((s.retryAt - Date.now()) / 1000))} s`;
    case 'stopped':
      return s.error ? `stopped: ${s.error}` : 'disconnected';
  }
}

export function connectionDescription(c: ManagedConnection): string {
  const m = c.monitor;
  const parts: string[] = [c.spec.role === 'none' ? '' : c.spec.role];
  if (m) {
    parts.push(`QEMU ${m.version}`, m.runState?.status ?? '?', `migration ${m.status}`);
    const p = progressOf(m.migration);
    if (m.active && p !== undefined) parts.push(`${Math.round(p * 100)}%`);
  } else {
    parts.push(stateText(c));
  }
  return parts.filter((x) => x !== '').join(' · ');
}

function num(v: number | undefined, unit = ''): string {
  return v === undefined ? '-' : `${v}${unit}`;
}

/** Rows of the Migration group: the `query-migrate` fields a developer reads in `info migrate`. */
export function migrationFields(m: MigrationMonitor): Array<[key: string, label: string, value: string]> {
  const i = m.migration;
  const r = i.ram;
  const rows: Array<[string, string, string]> = [['status', 'status', m.status]];
  const p = progressOf(i);
  if (p !== undefined) rows.push(['progress', 'progress', `${(p * 100).toFixed(1)}%${m.active ? `, ~${formatSeconds(secondsLeft(i))} left` : ''}`]);
  rows.push(['total-time', 'total time', num(i['total-time'], ' ms')], ['setup-time', 'setup time', num(i['setup-time'], ' ms')]);
  rows.push(['expected-downtime', 'expected downtime', num(i['expected-downtime'], ' ms')], ['downtime', 'downtime', num(i.downtime, ' ms')]);
  if (r) {
    rows.push(
      ['transferred', 'transferred', formatBytes(r.transferred)],
      ['remaining', 'remaining', formatBytes(r.remaining)],
      ['total', 'total', formatBytes(r.total)],
      ['mbps', 'throughput', formatMbps(r.mbps)],
      ['dirty-pages-rate', 'dirty pages rate', `${r['dirty-pages-rate']} pages/s`],
      ['dirty-sync-count', 'passes (dirty-sync-count)', String(r['dirty-sync-count'])],
      ['normal', 'normal pages', String(r.normal)],
      ['duplicate', 'zero pages (duplicate)', String(r.duplicate)],
      ['multifd-bytes', 'multifd bytes', formatBytes(r['multifd-bytes'])],
      ['postcopy-requests', 'postcopy requests', String(r['postcopy-requests'])],
    );
  }
  if (i['postcopy-blocktime'] !== undefined) rows.push(['postcopy-blocktime', 'postcopy blocktime', `${i['postcopy-blocktime']} ms`]);
  if (i['error-desc']) rows.push(['error-desc', 'error', i['error-desc']]);
  return rows;
}

/** The QMP round-trip times of the last commands, e.g. to spot a monitor blocked by a job. */
function roundTrips(m: MigrationMonitor): string {
  const t = m.timings.toArray();
  if (t.length === 0) return 'no commands yet';
  const rtt = t.map((x) => x.repliedAt - x.sentAt);
  const slowest = t[rtt.indexOf(Math.max(...rtt))];
  return `QMP round-trip over the last ${t.length} commands: median ${(rtt.sort((a, b) => a - b)[Math.floor(rtt.length / 2)] ?? 0).toFixed(1)} ms, slowest ${Math.max(...rtt).toFixed(1)} ms (${slowest?.command ?? '?'})`;
}

function time(ms: number): string {
  return new Date(performance.timeOrigin + ms).toLocaleTimeString();
}

/** The Connections view: one node per QMP connection with its live migration model underneath. */
export class ConnectionsTree implements vscode.TreeDataProvider<ConnNode> {
  private readonly emitter = new vscode.EventEmitter<ConnNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;

  constructor(private readonly manager: ConnectionManager) {}

  refresh(): void {
    this.emitter.fire(undefined);
  }

  dispose(): void {
    this.emitter.dispose();
  }

  getChildren(node?: ConnNode): ConnNode[] {
    if (!node) return this.manager.list().map((c) => ({ kind: 'connection', id: c.spec.id }));
    const c = this.manager.get(node.id);
    const m = c?.monitor;
    if (!c || !m) return [];
    const id = node.id;
    if (node.kind === 'connection') {
      const groups: ConnNode[] = [];
      if (m.warnings().length > 0) groups.push({ kind: 'group', id, group: 'warnings' });
      groups.push({ kind: 'group', id, group: 'migration' }, { kind: 'group', id, group: 'capabilities' }, { kind: 'group', id, group: 'parameters' });
      if (m.features.migrationThreads) groups.push({ kind: 'group', id, group: 'threads' });
      if (m.features.jobs) groups.push({ kind: 'group', id, group: 'jobs' });
      groups.push({ kind: 'group', id, group: 'events' });
      return groups;
    }
    if (node.kind !== 'group') return [];
    switch (node.group) {
      case 'warnings':
        return m.warnings().map((warning) => ({ kind: 'warning', id, warning }));
      case 'migration':
        return migrationFields(m).map(([key, label, value]) => ({ kind: 'field', id, key, label, value }));
      case 'capabilities':
        return Object.entries(m.capabilities).sort(([a], [b]) => a.localeCompare(b)).map(([name, state]) => ({ kind: 'capability', id, name, state }));
      case 'parameters':
        return Object.entries(m.parameters).sort(([a], [b]) => a.localeCompare(b)).map(([name, value]) => ({ kind: 'parameter', id, name, value }));
      case 'threads':
        return m.threads.map((t) => ({ kind: 'field', id, key: t.name, label: t.channel !== undefined ? `multifd ${t.kind} channel ${t.channel}` : t.name, value: `tid ${t.threadId}` }));
      case 'jobs':
        return m.jobs.map((j) => {
          const pct = j['total-progress'] > 0 ? ` ${Math.round((100 * j['current-progress']) / j['total-progress'])}%` : '';
          return { kind: 'field', id, key: j.id, label: `${j.type} ${j.id}`, value: `${j.status}${pct}${j.error ? `: ${j.error}` : ''}` };
        });
      case 'events':
        return m.events.newest(50).map((e, i) => ({
          kind: 'field', id, key: `event-${m.events.total - i}`, label: `${time(e.receivedAt)} ${e.event.event}`,
          value: JSON.stringify(e.event.data ?? {}), tooltip: JSON.stringify(e.event, null, 2),
        }));
    }
  }

  getTreeItem(node: ConnNode): vscode.TreeItem {
    switch (node.kind) {
      case 'connection': {
        const c = this.manager.get(node.id);
        const item = new vscode.TreeItem(c?.spec.label ?? node.id, vscode.TreeItemCollapsibleState.Expanded);
        // The id changes with liveness so a connection that comes up starts expanded, whatever it showed while down.
        item.id = `conn:${node.id}:${c?.monitor ? 'live' : 'down'}`;
        if (!c) return item;
        item.description = connectionDescription(c);
        item.tooltip = `${c.spec.address}\n${item.description}${c.state.kind === 'waiting' ? `\n${c.state.error}` : ''}${c.monitor ? `\n${roundTrips(c.monitor)}` : ''}`;
        item.contextValue = c.monitor ? 'qmpConnection.connected' : 'qmpConnection';
        const icon = c.state.kind === 'connected' ? (c.monitor?.active ? 'sync~spin' : 'vm-running') : c.state.kind === 'stopped' ? 'debug-disconnect' : 'loading~spin';
        item.iconPath = new vscode.ThemeIcon(icon);
        if (!c.monitor) item.collapsibleState = vscode.TreeItemCollapsibleState.None;
        return item;
      }
      case 'group': {
        // A warnings group of notes only (nothing goes wrong) is called so, not coloured, and starts closed.
        const notesOnly = node.group === 'warnings' && (this.manager.get(node.id)?.monitor?.warnings().every((w) => w.severity === 'info') ?? false);
        const titles = { warnings: notesOnly ? 'Notes' : 'Warnings', migration: 'Migration', capabilities: 'Capabilities', parameters: 'Parameters', threads: 'Threads', jobs: 'Jobs', events: 'Events' };
        const open = node.group === 'migration' || (node.group === 'warnings' && !notesOnly);
        const item = new vscode.TreeItem(titles[node.group], open ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
        // The id follows the kind so that a group turning from notes into warnings opens.
        item.id = `conn:${node.id}:${node.group}${notesOnly ? ':notes' : ''}`;
        item.contextValue = `qmpGroup.${node.group}`;
        if (node.group === 'warnings') item.iconPath = notesOnly ? new vscode.ThemeIcon('info') : new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
        return item;
      }
      case 'field': {
        const item = new vscode.TreeItem(node.label);
        item.id = `conn:${node.id}:field:${node.key}`;
        item.description = node.value;
        item.tooltip = node.tooltip ?? `${node.label}: ${node.value}`;
        return item;
      }
      case 'capability': {
        const item = new vscode.TreeItem(node.name);
        item.id = `conn:${node.id}:cap:${node.name}`;
        item.description = node.state ? 'on' : 'off';
        item.checkboxState = node.state ? vscode.TreeItemCheckboxState.Checked : vscode.TreeItemCheckboxState.Unchecked;
        item.contextValue = 'qmpCapability';
        return item;
      }
      case 'parameter': {
        const item = new vscode.TreeItem(node.name);
        item.id = `conn:${node.id}:param:${node.name}`;
        // Shown with its unit; the tooltip and the edit box keep QEMU's own value.
        item.description = parameterText(node.name, node.value);
        item.contextValue = 'qmpParameter';
        item.tooltip = `${node.name} = ${parameterRaw(node.value)}\nClick to edit`;
        item.command = { command: 'qemuMigration.editParameter', title: 'Edit Parameter', arguments: [node] };
        return item;
      }
      case 'warning': {
        const item = new vscode.TreeItem(node.warning.message);
        item.id = `conn:${node.id}:warn:${node.warning.id}`;
        item.tooltip = node.warning.message;
        item.iconPath = new vscode.ThemeIcon(node.warning.severity);
        return item;
      }
    }
  }
}
