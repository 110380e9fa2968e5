/**
 * Generates the built-in trace catalogues (src/core/trace/catalogues/qemu-*.json)
 * from the trace-events fixtures: event name, properties, arguments and format only.
 * They are data files, read and parsed only when that version is used (the build copies
 * them to dist/catalogues), so no bundle carries the text of every version.
 * Usage: npx tsx scripts/gen-catalogues.ts [fixturesDir]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { catalogueFromText, loadCatalogueFromDir } from '../src/core/trace/catalogue';
import type { BuiltinCatalogueFile } from '../src/core/trace/catalogues/index';

const fixtures = process.argv[2] ?? process.env.QMW_FIXTURES ?? join(__dirname, '..', '..', 'shared', 'fixtures');
const versions: [string, string][] = [['7.2', 'v7.2.0'], ['9.0', 'v9.0.0'], ['10.2.50', '10.2.50']];

async function main(): Promise<void> {
  for (const [version, folder] of versions) {
    // A build's trace-events-all is the complete list; the release fixtures hold only some folders.
    const allPath = join(fixtures, 'qemu', folder, 'trace-events-all');
    let all: string | undefined;
    try { all = readFileSync(allPath, 'utf8'); } catch { all = undefined; }
    const cat = all !== undefined ? catalogueFromText(all, 'trace-events-all') : await loadCatalogueFromDir(join(fixtures, 'qemu', folder));
    if (cat.errors.length) throw new Error(`${folder}: ${cat.errors.length} syntax errors, first ${JSON.stringify(cat.errors[0])}`);
    const data: BuiltinCatalogueFile = {
      version,
      events: cat.events.map((e) => [
        e.decl.name,
        e.decl.props.join(' '),
        e.decl.args.map((a) => `${a.type}\t${a.name}`).join('\n'),
        e.decl.format,
      ]),
    };
    const out = join(__dirname, '..', 'src', 'core', 'trace', 'catalogues', `qemu-${version}.json`);
    writeFileSync(out, `${JSON.stringify(data)}\n`);
    console.log(`${out}: ${data.events.length} events`);
  }
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
