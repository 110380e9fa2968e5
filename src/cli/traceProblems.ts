/** What makes a trace read not clean, said on stderr the same way by every `qmig` command that reads traces. */
import type { TraceStore } from '../core/trace/store';
import type { CliIo } from './command';

/**
 * Reports read errors (with their byte offset), a file with lines but no event, and malformed
 * lines, each prefixed with the command and the file. Returns true when there was any.
 */
export function reportTraceProblems(command: string, file: string, store: TraceStore, catalogue: string, io: CliIo): boolean {
  for (const e of store.errors) io.err(`qmig ${command}: ${file}: ${e}\n`);
  let bad = store.errors.length > 0;
  if (store.errors.length === 0 && store.lines > 0 && store.count() === 0 && store.malformedCount === 0) {
    io.err(`qmig ${command}: ${file}: no QEMU trace event in its ${store.lines} lines: not a trace, or not one of catalogue ${catalogue}\n`);
    bad = true;
  }
  if (store.malformedCount > 0) {
    const first = store.malformed.slice(0, 3).map((m) => `line ${m.line} ${m.name}`).join(', ');
    io.err(`qmig ${command}: ${file}: ${store.malformedCount} malformed line${store.malformedCount === 1 ? '' : 's'} (first: ${first})\n`);
    bad = true;
  }
  return bad;
}
