import { connectHost, el, themeColor } from '../shared/host';
import { appendColumns, chartSeries, emptyColumns, type ChartMarker, type ChartState, type FromChart, type SampleColumns, type ToChart } from './protocol';
import { drawChart, seriesText, type ChartPalette } from './draw';

const host = connectHost<ToChart, FromChart, ChartState>();
const state: ChartState = host.getState() ?? { hidden: [] };
let columns: SampleColumns = emptyColumns();
let markers: ChartMarker[] = [];
/** Keeps the page bounded when a migration runs for hours. */
const maxPoints = 20_000;

const root = document.getElementById('root') ?? document.body;
const title = el('h2', 'Live migration');
const status = el('div', '', 'status');
const toolbar = el('div', '', 'toolbar');
const save = el('button', 'Save Recording');
save.addEventListener('click', () => host.post({ type: 'saveRecording' }));
toolbar.append(save);
const toggles = el('div', '', 'toggles');
for (const s of chartSeries) {
  const label = el('label', '');
  const box = el('input');
  box.type = 'checkbox';
  box.checked = !state.hidden.includes(s);
  box.addEventListener('change', () => {
    state.hidden = box.checked ? state.hidden.filter((h) => h !== s) : [...state.hidden, s];
    host.setState(state);
    render();
  });
  label.append(box, document.createTextNode(` ${s}`));
  label.title = seriesText[s].title;
  toggles.append(label);
}
const canvas = el('canvas');
canvas.id = 'chart';
root.append(title, status, toolbar, toggles, canvas);

function palette(): ChartPalette {
  return {
    foreground: themeColor('foreground', '#ccc'),
    grid: themeColor('editorWidget-border', '#444'),
    background: themeColor('editor-background', '#1e1e1e'),
    series: [
      themeColor('charts-blue', '#3794ff'), themeColor('charts-orange', '#d18616'), themeColor('charts-green', '#89d185'),
      themeColor('charts-red', '#f14c4c'), themeColor('charts-purple', '#b180d7'), themeColor('charts-yellow', '#cca700'),
      themeColor('charts-foreground', '#ccc'),
    ],
    markers: { MIGRATION: themeColor('charts-red', '#f14c4c'), MIGRATION_PASS: themeColor('charts-yellow', '#cca700'), STOP: themeColor('charts-purple', '#b180d7'), RESUME: themeColor('charts-green', '#89d185') },
  };
}

function render(): void {
  const rect = canvas.getBoundingClientRect();
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(300, Math.floor(rect.width || window.innerWidth - 40));
  const visible = chartSeries.filter((s) => !state.hidden.includes(s));
  const height = Math.max(160, visible.length * 110 + (markers.length > 0 ? 28 : 0));
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  drawChart(ctx, { width, height }, columns, markers, visible, palette());
  const n = columns.t.length;
  const lasts = visible.map((s) => (n ? `${s} (last ${seriesText[s].format(columns[s][n - 1] ?? 0)})` : s));
  canvas.setAttribute('aria-label', `Chart of ${lasts.join(', ')}: ${n} samples, ${markers.length} event markers`);
}

function append(more: SampleColumns): void {
  columns = appendColumns(columns, more, maxPoints);
}

let queued = false;
function schedule(): void {
  if (queued) return;
  queued = true;
  requestAnimationFrame(() => {
    queued = false;
    render();
  });
}

host.onMessage((m) => {
  switch (m.type) {
    case 'reset':
      title.textContent = `Live migration: ${m.label}`;
      columns = m.columns;
      markers = m.markers;
      status.textContent = m.status;
      break;
    case 'append':
      append(m.columns);
      markers.push(...m.markers);
      if (markers.length > 2000) markers.splice(0, markers.length - 2000);
      status.textContent = m.status;
      break;
    case 'saved':
      status.textContent = `Recording saved to ${m.path}`;
      return;
    case 'error':
      status.textContent = m.message;
      return;
  }
  schedule();
});
window.addEventListener('resize', schedule);
host.post({ type: 'ready' });
