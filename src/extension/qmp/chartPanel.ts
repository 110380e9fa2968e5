import * as vscode from 'vscode';
import { recordingFileName, writeRecording } from '../../core/monitor/recording';
import type { MigrationMonitor, ReceivedEvent } from '../../core/monitor/monitor';
import { chartSampleOf, checkFromChart, columnsOf, markerKinds, type ChartMarker, type FromChart, type MarkerKind, type ToChart } from '../../webview/chart/protocol';
import { exportsDir } from '../config';
import type { WorkbenchContext } from '../context';
import { openWebviewPanel } from '../webview/panelHost';
import type { QmpSession } from './session';

export function markerOf(e: ReceivedEvent): ChartMarker | undefined {
  const kind = e.event.event;
  if (!(markerKinds as readonly string[]).includes(kind)) return undefined;
  const ts = e.event.timestamp;
  const d = e.event.data;
  const text = kind === 'MIGRATION' ? String(d['status'] ?? '') : kind === 'MIGRATION_PASS' ? String(d['pass'] ?? '') : '';
  return { t: ts.seconds * 1000 + ts.microseconds / 1000, kind: kind as MarkerKind, text };
}

/**
 * A chart panel per connection: samples and markers pushed twice a second while it is open.
 * It lives in the connection's scope: closed when the connection is forgotten or the window goes.
 */
export function openChartPanel(ctx: WorkbenchContext, session: QmpSession, id: string): void {
  const conn = session.manager.get(id);
  if (!conn) return;
  const { panel, host } = openWebviewPanel<ToChart, FromChart>(ctx.extension.extensionUri, 'qemuMigration.liveChart', {
    script: 'webview-chart.js',
    stylesheet: 'media/chart.css',
    title: `Migration: ${conn.spec.label}`,
  }, { check: checkFromChart, log: ctx.log, name: 'live chart' }, vscode.ViewColumn.Beside);
  const scope = session.connectionScope(id).child('live chart');
  let monitor: MigrationMonitor | undefined;
  let lastT = -Infinity;
  let lastEvent = 0;

  const reset = (): void => {
    monitor = conn.monitor;
    const samples = monitor?.samples.toArray() ?? [];
    const events = monitor?.events.toArray() ?? [];
    lastT = samples[samples.length - 1]?.t ?? -Infinity;
    lastEvent = monitor?.events.total ?? 0;
    void host.post({ type: 'reset', label: conn.spec.label, status: monitor ? `${conn.spec.label}: ${monitor.status}` : `${conn.spec.label}: not connected`, columns: columnsOf(samples.map(chartSampleOf)), markers: events.flatMap((e) => markerOf(e) ?? []) });
  };
  const tick = (): void => {
    if (conn.monitor !== monitor) return reset();
    if (!monitor) return;
    const fresh = monitor.samples.toArray().filter((s) => s.t > lastT);
    const newEvents = monitor.events.total - lastEvent;
    if (fresh.length === 0 && newEvents === 0) return;
    lastT = fresh[fresh.length - 1]?.t ?? lastT;
    lastEvent = monitor.events.total;
    const events = newEvents > 0 ? monitor.events.newest(newEvents).reverse() : [];
    void host.post({ type: 'append', columns: columnsOf(fresh.map(chartSampleOf)), markers: events.flatMap((e) => markerOf(e) ?? []), status: `${conn.spec.label}: ${monitor.status}` });
  };
  const timer = setInterval(tick, 500);
  scope.onDispose(() => clearInterval(timer));
  scope.add(host.onMessage((m) => {
    if (m.type === 'ready') reset();
    else if (m.type === 'saveRecording') void saveRecording(session, id, conn.spec.label).then(
      (path) => {
        if (path) void host.post({ type: 'saved', path });
      },
      (e: unknown) => {
        void host.post({ type: 'error', message: `Saving failed: ${e instanceof Error ? e.message : String(e)}` });
      },
    );
  }));
  scope.add(panel);
  panel.onDidDispose(() => scope.dispose());
}

/** Writes the connection's buffered QMP transcript as JSON lines, where the user chooses. */
async function saveRecording(session: QmpSession, id: string, label: string): Promise<string | undefined> {
  const name = recordingFileName(label, new Date());
  const dir = exportsDir();
  const target = await vscode.window.showSaveDialog({ ...(dir ? { defaultUri: vscode.Uri.joinPath(dir, name) } : {}), filters: { 'JSON lines': ['jsonl'] } });
  if (!target) return undefined;
  await writeRecording(target.fsPath, session.transcript(id));
  return target.fsPath;
}
