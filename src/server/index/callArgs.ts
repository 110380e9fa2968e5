/**
 * Reads the arguments of `trace_foo(...)` calls with tree-sitter's C grammar. Only the
 * calls are parsed, each as the one statement of a function of its own, so a file of
 * thousands of lines costs what its trace calls cost.
 */
import type { Node, Parser } from 'web-tree-sitter';
import type { CSite } from './cScan';

export interface CallShape {
  /** Number of arguments, -1 when tree-sitter did not read a plain call there. */
  readonly argCount: number;
  /** Byte offsets of each argument in the file. */
  readonly args: readonly { readonly start: number; readonly end: number }[];
}

const UNKNOWN: CallShape = { argCount: -1, args: [] };

/** The shapes of `calls` (sites of kind 'call'), in their order. */
export function readCallShapes(parser: Parser, b: Buffer, calls: readonly CSite[]): CallShape[] {
  const shapes: CallShape[] = calls.map(() => UNKNOWN);
  const parts: string[] = [];
  /** Offset in the synthetic text of each call's first byte. */
  const base: number[] = [];
  let len = 0;
  for (let k = 0; k < calls.length; k++) {
    const s = calls[k]!;
    if (s.close < 0) { base.push(-1); continue; }
    const head = `void __qmw${k}(void){`;
    // latin1 keeps one character per byte, so offsets map back by subtraction.
    const body = b.toString('latin1', s.start, s.close + 1).replace(/\\(?=\r?\n)/g, ' ');
    base.push(len + head.length);
    parts.push(head, body, ';}\n');
    len += head.length + body.length + 3;
  }
  if (parts.length === 0) return shapes;
  const tree = parser.parse(parts.join(''));
  if (!tree) return shapes;
  try {
    for (const fn of tree.rootNode.namedChildren) {
      if (!fn || fn.type !== 'function_definition') continue;
      const name = fn.childForFieldName('declarator')?.childForFieldName('declarator')?.text;
      const k = name?.startsWith('__qmw') ? Number(name.slice(5)) : NaN;
      const site = calls[k];
      if (!site || !Number.isInteger(k)) continue;
      shapes[k] = shapeOf(fn, site, base[k]!);
    }
  } finally {
    tree.delete();
  }
  return shapes;
}

function shapeOf(fn: Node, site: CSite, base: number): CallShape {
  const stmt = fn.childForFieldName('body')?.namedChildren.find((c) => c !== null && c.type !== 'comment');
  const call = stmt?.type === 'expression_statement' ? stmt.namedChildren[0] : undefined;
  if (!call || call.type !== 'call_expression' || call.hasError) return UNKNOWN;
  if (call.childForFieldName('function')?.text !== site.ident) return UNKNOWN;
  const list = call.childForFieldName('arguments');
  if (!list) return UNKNOWN;
  const args: { start: number; end: number }[] = [];
  for (const a of list.namedChildren) {
    if (!a || a.type === 'comment') continue;
    args.push({ start: site.start + a.startIndex - base, end: site.start + a.endIndex - base });
  }
  return { argCount: args.length, args };
}
