import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drawChart, type Canvas2D, type ChartPalette } from './draw';
import { columnsOf, emptyColumns } from './protocol';

/** Records the calls a renderer makes, in place of a canvas. */
function recorder(): Canvas2D & { texts: string[]; lines: number; strokes: string[] } {
  const r = {
    fillStyle: '' as Canvas2D['fillStyle'], strokeStyle: '' as Canvas2D['strokeStyle'], lineWidth: 1, font: '',
    texts: [] as string[], lines: 0, strokes: [] as string[],
    fillRect: () => undefined, beginPath: () => undefined, moveTo: () => undefined,
    lineTo: () => void r.lines++, stroke: () => void r.strokes.push(String(r.strokeStyle)),
    fillText: (t: string) => void r.texts.push(t),
  };
  return r;
}

const palette: ChartPalette = {
  foreground: 'fg', grid: 'grid', background: 'bg', series: ['s0', 's1'],
  markers: { MIGRATION: 'mig', MIGRATION_PASS: 'pass', STOP: 'stop', RESUME: 'resume' },
};

test('empty chart says it is waiting', () => {
  const r = recorder();
  drawChart(r, { width: 400, height: 200 }, emptyColumns(), [], ['mbps'], palette);
  assert.ok(r.texts.some((t) => /Waiting for a migration/.test(t)));
});

test('one strip per visible series and markers inside the time range', () => {
  const c = columnsOf(Array.from({ length: 10 }, (_, i) => ({
    t: 1000 + i * 100, mbps: i * 10, passes: Math.floor(i / 3), transferred: 0, remaining: 0, dirtyRate: 0, pagesPerSecond: 0, postcopyRequests: 0,
  })));
  const r = recorder();
  drawChart(r, { width: 600, height: 300 }, c, [
    { t: 1500, kind: 'MIGRATION_PASS', text: '2' },
    { t: 99_999, kind: 'STOP', text: '' },
  ], ['mbps', 'passes'], palette);
  assert.ok(r.texts.some((t) => t.startsWith('mbps (Mbps)  max 90')));
  assert.ok(r.texts.some((t) => t.startsWith('passes  max 3')));
  assert.ok(r.texts.includes('pass 2'));
  assert.ok(!r.strokes.includes('stop'), 'marker outside the range is not drawn');
  assert.ok(r.strokes.includes('s0') && r.strokes.includes('s1'));
});
