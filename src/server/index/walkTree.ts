/** Lists the files of a source tree the index reads, leaving out what is not source. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface TreeFiles {
  readonly traceEvents: string[];
  readonly cFiles: string[];
}

const SKIP_DIRS = new Set(['.git', '.hg', '.svn', 'node_modules', '.cache', '.pc']);
/** A folder holding one of these is a build tree (generated headers define every trace_ function). */
const BUILD_MARKERS = ['build.ninja', 'meson-private', 'CMakeCache.txt', 'config.status'];

export function isCFile(name: string): boolean {
  return name.endsWith('.c') || name.endsWith('.h') || name.endsWith('.inc');
}

/** Walks roots depth first in name order; folders that cannot be read are skipped. */
export function walkTree(roots: readonly string[], cancelled: () => boolean = () => false): TreeFiles {
  const traceEvents: string[] = [];
  const cFiles: string[] = [];
  const seen = new Set<string>();
  const walk = (dir: string): void => {
    if (cancelled() || seen.has(dir)) return;
    seen.add(dir);
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    if (entries.some((e) => BUILD_MARKERS.includes(e.name))) return;
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) walk(p);
      } else if (e.isFile()) {
        if (e.name === 'trace-events') traceEvents.push(p);
        else if (isCFile(e.name)) cFiles.push(p);
      }
    }
  };
  for (const r of roots) walk(r);
  return { traceEvents, cFiles };
}
