import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Node, Parser } from 'web-tree-sitter';

/** One enumerator (or #define) of a C file, value resolved. */
export interface CConstant {
  readonly name: string;
  readonly value: number;
  /** Name of the enum it belongs to ("" for #define). */
  readonly enumName: string;
  readonly file: string;
  readonly line: number;
}

let parserPromise: Promise<Parser> | undefined;

const req = createRequire(__filename);

/**
 * A file shipped by an npm package: resolved through node_modules, else looked for beside this
 * (bundled) module, where a packaged build would copy it.
 */
function packageFile(pkg: string, file: string): string {
  for (const entry of [`${pkg}/package.json`, pkg]) {
    try {
      return join(dirname(req.resolve(entry)), file);
    } catch {
      // next candidate
    }
  }
  return join(__dirname, file);
}

/** web-tree-sitter from node_modules, else the copy esbuild.mjs puts beside the bundle. */
function loadWebTreeSitter(): typeof import('web-tree-sitter') {
  try {
    return req('web-tree-sitter') as typeof import('web-tree-sitter');
  } catch {
    return req(join(__dirname, 'web-tree-sitter.cjs')) as typeof import('web-tree-sitter');
  }
}

/**
 * The tree-sitter C grammar (tree-sitter-c.wasm from the tree-sitter-c package) behind
 * web-tree-sitter. Loaded at run time through require (not bundled): its ESM build needs
 * import.meta.url, which a CommonJS bundle does not have, and only `lint --qemu-tree` needs it.
 */
export function cParser(wasmPath?: string): Promise<Parser> {
  parserPromise ??= (async () => {
    const ts = loadWebTreeSitter();
    await ts.Parser.init({ locateFile: (name: string) => packageFile('web-tree-sitter', name) });
    const lang = await ts.Language.load(wasmPath ?? packageFile('tree-sitter-c', 'tree-sitter-c.wasm'));
    const p = new ts.Parser();
    p.setLanguage(lang);
    return p;
  })();
  return parserPromise;
}

function intValue(text: string): number | undefined {
  const t = text.trim().replace(/[uUlL]+$/, '');
  if (/^0x[0-9a-f]+$/i.test(t)) return parseInt(t, 16);
  if (/^\d+$/.test(t)) return Number(t);
  const shift = /^\(?\s*1\s*[uUlL]*\s*<<\s*(\d+)\s*\)?$/.exec(t);
  if (shift?.[1]) return 2 ** Number(shift[1]);
  return undefined;
}

/** Every enumerator of every enum (values resolved, implicit ones counted on) and every integer #define. */
export async function readCConstants(source: string, file: string): Promise<CConstant[]> {
  const parser = await cParser();
  const tree = parser.parse(source);
  if (!tree) throw new Error(`${file}: tree-sitter could not parse the file`);
  const out: CConstant[] = [];
  const walk = (n: Node): void => {
    if (n.type === 'enum_specifier') {
      const body = n.childForFieldName('body');
      if (body) {
        const enumName = n.childForFieldName('name')?.text ?? n.parent?.childForFieldName('declarator')?.text ?? '';
        let next = 0;
        for (const e of body.namedChildren) {
          if (!e || e.type !== 'enumerator') continue;
          const name = e.childForFieldName('name')?.text;
          const valueNode = e.childForFieldName('value');
          const v = valueNode ? intValue(valueNode.text) : next;
          if (name && v !== undefined) {
            out.push({ name, value: v, enumName, file, line: e.startPosition.row + 1 });
            next = v + 1;
          }
        }
      }
    } else if (n.type === 'preproc_def') {
      const name = n.childForFieldName('name')?.text;
      const v = n.childForFieldName('value');
      const value = v ? intValue(v.text) : undefined;
      if (name && value !== undefined) out.push({ name, value, enumName: '', file, line: n.startPosition.row + 1 });
    }
    for (const c of n.namedChildren) if (c) walk(c);
  };
  walk(tree.rootNode);
  tree.delete();
  return out;
}

export async function readCConstantsFile(path: string): Promise<CConstant[]> {
  return readCConstants(readFileSync(path, 'utf8'), path);
}
