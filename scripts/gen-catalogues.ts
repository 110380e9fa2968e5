/**
 * Generates the built-in trace catalogues (src/core/trace/catalogues/qemu-*.events)
 * from the trace-events fixtures and, for 10.0, from the QEMU 10.0.2 source tree that
 * scripts/setup.sh unpacks into the cache: event name, properties, arguments and format only.
 * They are data files, read and parsed only when that version is used (the build copies
 * them to dist/catalogues), so no bundle carries the text of every version.
 * Usage: npx tsx scripts/gen-catalogues.ts [fixturesDir [qemu10SourceDir]]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { catalogueFromText, loadCatalogueFromDir } from '../src/core/trace/catalogue';
import { workbenchCacheDir } from '../src/core/qemu/installs';
import { builtinEventLine } from '../src/core/trace/catalogues/index';

const fixtures = process.argv[2] ?? process.env.QMW_FIXTURES ?? join(__dirname, '..', '..', 'shared', 'fixtures');
const qemu10Source = process.argv[3] ?? join(workbenchCacheDir(), 'qemu-src', '10.0.2');
/** Built-in version → the folder its trace-events files are read from. */
const versions: [string, string][] = [
  ['7.2', join(fixtures, 'qemu', 'v7.2.0')],
  ['9.0', join(fixtures, 'qemu', 'v9.0.0')],
  ['10.0', qemu10Source],
  ['10.2.50', join(fixtures, 'qemu', '10.2.50')],
];

async function main(): Promise<void> {
  for (const [version, folder] of versions) {
    // A build's trace-events-all is the complete list; the release fixtures hold only some folders.
    const allPath = join(folder, 'trace-events-all');
    let all: string | undefined;
    try { all = readFileSync(allPath, 'utf8'); } catch { all = undefined; }
    const cat = all !== undefined ? catalogueFromText(all, 'trace-events-all') : await loadCatalogueFromDir(folder);
    if (cat.errors.length) throw new Error(`${folder}: ${cat.errors.length} syntax errors, first ${JSON.stringify(cat.errors[0])}`);
    const lines = cat.events.map((e) => builtinEventLine(e.decl.name, e.decl.props, e.decl.args, e.decl.format));
    const out = join(__dirname, '..', 'src', 'core', 'trace', 'catalogues', `qemu-${version}.events`);
    writeFileSync(out, `${lines.join('\n')}\n`);
    console.log(`${out}: ${lines.length} events`);
  }
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
