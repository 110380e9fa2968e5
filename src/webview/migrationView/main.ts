/**
 * Entry of the migration view's webview: talks to the host, restores the saved state
 * (files, zoom, selection, open panels, throughput mode) and hosts the page's one
 * MigrationView, which every model message updates in place.
 */
import { connectHost, el } from '../shared/host';
import { Lifetime } from '../shared/lifetime';
import { type FromWebview, type ToWebview, type ViewState } from './protocol';
import { MigrationView } from './view';
import { applyDelta } from '../../core/analysis/delta';

/** Everything the page starts; ended when the page goes (the panel closed or hidden). */
const page = new Lifetime();
window.addEventListener('pagehide', () => page.end(), { once: true });
const host = connectHost<ToWebview, FromWebview, ViewState>(page);
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

button('+', 'Zoom in (+, or Ctrl+wheel over a chart)', () => view?.axis.zoomAt(0.5, 0.5));
button('−', 'Zoom out (−)', () => view?.axis.zoomAt(0.5, 2));
button('Reset', 'Show everything, clear the selection (double-click a chart)', () => view?.axis.reset());
button('Clear selection', 'Clear the selected range (Escape)', () => view?.axis.setSelection(null));
const modeLabel = el('label', 'Throughput ');
const mode = el('select');
for (const [v, t] of [['total', 'total'], ['channels', 'per channel']] as const) { const o = el('option', t); o.value = v; mode.append(o); }
mode.addEventListener('change', () => { if (view) { view.throughputMode = mode.value === 'channels' ? 'channels' : 'total'; save(); } });
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
// The plain wheel scrolls the page: how to zoom is said where the zoom buttons are.
toolbar.append(el('span', 'Ctrl+wheel or +/− zoom · drag pans · Shift+drag selects · double-click resets', 'hint'));

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

/** The seq of the model shown (-1: none, or a delta was missed). */
let seq = -1;

function showStatus(title: string, following: boolean): void {
  status.textContent = following ? `${title} — following` : title;
  status.classList.remove('error');
  follow.checked = following;
}

/** How many events the view shows, per side, for whoever measures how far behind it is (the follow benchmark). */
function shownEvents(): void {
  for (const t of view?.model?.traces ?? []) document.body.dataset[`events${t.side === 'src' ? 'Src' : 'Dst'}`] = String(t.events);
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
    case 'delta': {
      // Only on the model it was made for; else the whole model is asked for again.
      if (!view?.model || msg.from !== seq) { seq = -1; host.post({ type: 'ready' }); return; }
      performance.mark('qmig-model-received');
      seq = msg.seq;
      showStatus(msg.title, msg.following);
      view.show(applyDelta(view.model, msg.delta));
      shownEvents();
      return;
    }
    case 'model': {
      performance.mark('qmig-model-received');
      seq = msg.seq;
      showStatus(msg.title, msg.following);
      if (view) {
        view.show(msg.model);
      } else {
        // The first model of the page: the saved zoom, selection and panels come back.
        const restore = saved !== undefined && saved.files.join('\n') === msg.files.join('\n') ? saved : undefined;
        files = msg.files;
        view = new MigrationView(content, { openLine: (side, line) => host.post({ type: 'openLine', side, line }), tooltip: showTooltip, saved: save }, page, restore?.panels);
        if (restore) { mode.value = restore.throughput; view.throughputMode = restore.throughput; }
        view.show(msg.model, restore);
        performance.measure('qmig-first-view', 'qmig-model-received');
      }
      shownEvents();
      save();
      return;
    }
  }
});

host.post({ type: 'ready' });
