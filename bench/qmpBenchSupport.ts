// What the extension does on each change notification, minus VS Code: the tree's field rows,
// the checks and the status line.
import { MigrationMonitor } from '../src/core/monitor/monitor';
import { summaryLine } from '../src/core/monitor/samples';

export { MigrationMonitor };

export function migrationSummaryForBench(m: MigrationMonitor): string {
  const w = m.warnings();
  const last = m.events.newest(50).map((e) => e.event.event).join(',');
  return `${summaryLine(m.migration)} ${w.length} ${last.length} ${m.samples.length}`;
}
