/**
 * Entry of the migration view's webview: talks to the host, restores the saved state
 * (files, zoom, selection, open panels, throughput mode) and hosts one MigrationView.
 */
import { connectHost, el } from '../shared/host';
import { type FromWebview, type PanelId, type ToWebview, type ViewState } from './protocol';
import { MigrationView } from './view';
import { activityExtent } from './viewData';

const host = connectHost<ToWebview, FromWebview, ViewState>();
const root = document.getElementById('root') ?? document.body;
const toolbar = el('div', undefined, 'toolbar');
toolbar.setAttribute('role', 'toolbar');
const status = el('div', 'Waiting for the trace…', 'status');
status.setAttribute('role', 'status');
const content = el('div', undefined, 'content');
const tooltip = el('div', undefined, 'tooltip');
tooltip.setAttribute('role', 'tooltip');
root.append(toolbar, status, content, tooltip);

let view: MigrationView | null = null;
let files: readonly string[] = [];
let saved = host.getState();

function button(label: string, title: string, run: () => void): HTMLButtonElement {
  const b = el('button', label);
  b.type = 'button';
  b.title = title;
  b.addEventListener('click', run);
  toolbar.append(b);
  return b;
}

button('+', 'Zoom in (+)', () => view?.axis.zoomAt(0.5, 0.5));
button('−', 'Zoom out (−)', () => view?.axis.zoomAt(0.5, 2));
button('Reset', 'Show everything, clear the selection (double-click a chart)', () => view?.axis.reset());
button('Clear selection', 'Clear the selected range (Escape)', () => view?.axis.setSelection(null));
const modeLabel = el('label', 'Throughput ');
const mode = el('select');
for (const [v, t] of [['total', 'total'], ['channels', 'per channel']] as const) { const o = el('option', t); o.value = v; mode.append(o); }
mode.addEventListener('change', () => { if (view?.throughput) { view.throughput.mode = mode.value === 'channels' ? 'channels' : 'total'; view.schedule(); save(); } });
modeLabel.append(mode);
toolbar.append(modeLabel);
const followLabel = el('label');
const follow = el('input');
follow.type = 'checkbox';
follow.addEventListener('change', () => host.post({ type: 'follow', enabled: follow.checked }));
followLabel.append(follow, document.createTextNode(' Follow'));
followLabel.title = 'Re-read the traces while QEMU is still writing them';
toolbar.append(followLabel);
button('Export CSV', 'Save the events of the selection (or visible window) as CSV', () => { if (view) host.post({ type: 'saveCsv', name: 'migration-view.csv', text: view.csv() }); });
button('Export PNG', 'Save the charts as a PNG image', () => { if (view) void view.png().then((data) => host.post({ type: 'savePng', name: 'migration-view.png', data })); });

function save(): void {
  if (!view) return;
  const sel = view.axis.selection;
  saved = {
    files,
    view: [...view.axis.visible],
    selection: sel ? [...sel] : null,
    panels: view.openPanels(),
    throughput: mode.value === 'channels' ? 'channels' : 'total',
  };
  host.setState(saved);
}

function showTooltip(text: string | null, x: number, y: number): void {
  if (text === null) { tooltip.classList.remove('shown'); return; }
  tooltip.textContent = text;
  tooltip.classList.add('shown');
  const w = tooltip.offsetWidth, h = tooltip.offsetHeight;
  tooltip.style.left = `${Math.min(window.innerWidth - w - 4, x + 12)}px`;
  tooltip.style.top = `${y + 14 + h > window.innerHeight ? y - h - 8 : y + 14}px`;
}

host.onMessage((msg) => {
  switch (msg.type) {
    case 'loading':
      status.textContent = `Reading ${msg.files.join(' and ')}…`;
      return;
    case 'error':
      status.textContent = msg.message;
      status.classList.add('error');
      return;
    case 'model': {
      performance.mark('qmig-model-received');
      const sameFiles = saved !== undefined && saved.files.join('\n') === msg.files.join('\n');
      const previous = view;
      // A live update keeps the user's zoom; an unzoomed view grows with the data.
      const zoomed = previous !== null && (previous.axis.visible[0] !== previous.axis.full[0] || previous.axis.visible[1] !== previous.axis.full[1]);
      const keep = previous ? { view: zoomed ? previous.axis.visible : null, selection: previous.axis.selection } : sameFiles ? { view: saved!.view, selection: saved!.selection } : null;
      const panels: Partial<Record<PanelId, boolean>> = previous?.openPanels() ?? (sameFiles ? saved!.panels : {});
      files = msg.files;
      status.textContent = msg.following ? `${msg.title} — following` : msg.title;
      status.classList.remove('error');
      follow.checked = msg.following;
      if (sameFiles && !previous) mode.value = saved!.throughput;
      content.replaceChildren();
      view = new MigrationView(content, msg.model, { openLine: (side, line) => host.post({ type: 'openLine', side, line }), tooltip: showTooltip, saved: save }, panels);
      if (view.throughput) view.throughput.mode = mode.value === 'channels' ? 'channels' : 'total';
      view.axis.setExtent(activityExtent(msg.model), false);
      if (keep?.view) view.axis.setView(keep.view);
      if (keep?.selection) view.axis.setSelection(keep.selection);
      view.drawNow();
      view.updateNumbers();
      performance.measure('qmig-first-view', 'qmig-model-received');
      save();
      return;
    }
  }
});

host.post({ type: 'ready' });
