/**
 * The debug console's language: a QMP command (`query-migrate`, `name {"arg": ...}` or
 * `{"execute": ..., "arguments": ...}`), or an HMP command line after `!` (`!info migrate`);
 * `@src ` / `@dst ` in front picks the QEMU. Completions come from the QEMU's own schema.
 */
import { validateQmpInput } from '../../core/monitor/qmpInput';
import type { SideName } from '../config';

export const hmpMarker = '!';

export type ConsoleInput =
  | { kind: 'qmp'; side: SideName | undefined; command: string; args: Record<string, unknown> | undefined }
  | { kind: 'hmp'; side: SideName | undefined; line: string };

const sidePrefix = /^@(src|source|dst|dest|destination)\s+/;

function sideOf(word: string): SideName {
  return word.startsWith('s') ? 'source' : 'destination';
}

/** Parses a console line; throws with a message that says what is accepted. */
export function parseConsoleInput(text: string): ConsoleInput {
  let rest = text.trim();
  let side: SideName | undefined;
  const m = sidePrefix.exec(rest);
  if (m) {
    side = sideOf(m[1] ?? '');
    rest = rest.slice(m[0].length).trim();
  }
  if (rest.startsWith(hmpMarker)) {
    const line = rest.slice(hmpMarker.length).trim();
    if (line === '') throw new Error(`type an HMP command line after ${hmpMarker}, e.g. ${hmpMarker}info migrate`);
    return { kind: 'hmp', side, line };
  }
  const named = /^([A-Za-z][A-Za-z0-9_-]*)\s+(\{[\s\S]*\})$/.exec(rest);
  if (named) {
    let args: unknown;
    try {
      args = JSON.parse(named[2] ?? '');
    } catch (e) {
      throw new Error(`the arguments of ${named[1]} are not JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    return { kind: 'qmp', side, command: named[1] ?? '', args: args as Record<string, unknown> };
  }
  const problem = validateQmpInput(rest);
  if (problem !== undefined) {
    throw new Error(`${problem} (QMP: query-migrate, name {"arg": 1} or {"execute": ..., "arguments": ...}; HMP: ${hmpMarker}info migrate; @src / @dst picks the QEMU)`);
  }
  if (!rest.startsWith('{')) return { kind: 'qmp', side, command: rest, args: undefined };
  const o = JSON.parse(rest) as { execute: string; arguments?: Record<string, unknown> };
  return { kind: 'qmp', side, command: o.execute, args: o.arguments };
}

export interface Completion {
  label: string;
  /** 0-based offset in the text where the replaced word starts, and its length. */
  start: number;
  length: number;
  type: 'function' | 'property' | 'keyword';
}

export interface CompletionSource {
  commands: readonly string[];
  argsOf(command: string): readonly string[];
  hmpCommands: readonly string[];
}

/** Completions for the text before the cursor (`column` is 0-based). */
export function completeConsole(text: string, column: number, src: CompletionSource): Completion[] {
  const before = text.slice(0, column);
  const prefix = sidePrefix.exec(before);
  const offset = prefix ? prefix[0].length : 0;
  const body = before.slice(offset);
  if (body.startsWith(hmpMarker)) {
    const word = body.slice(hmpMarker.length);
    if (/\s/.test(word)) return [];
    return src.hmpCommands.filter((c) => c.startsWith(word)).map((label) => ({ label, start: offset + hmpMarker.length, length: word.length, type: 'function' }));
  }
  const exec = /"execute"\s*:\s*"([A-Za-z0-9_-]*)$/.exec(body);
  if (exec) {
    const word = exec[1] ?? '';
    return src.commands.filter((c) => c.startsWith(word)).map((label) => ({ label, start: column - word.length, length: word.length, type: 'function' }));
  }
  const arg = /^([A-Za-z][A-Za-z0-9_-]*)\s+\{(?:[^"]*"[^"]*"\s*:\s*[^,]*,)*\s*"?([A-Za-z0-9_-]*)$/.exec(body);
  if (arg) {
    const word = arg[2] ?? '';
    const quoted = body.endsWith(`"${word}`);
    return src.argsOf(arg[1] ?? '').filter((a) => a.startsWith(word)).map((a) => ({
      label: quoted ? a : `"${a}"`, start: column - word.length, length: word.length, type: 'property',
    }));
  }
  if (/^[A-Za-z0-9_-]*$/.test(body)) {
    const cmds: Completion[] = src.commands.filter((c) => c.startsWith(body)).map((label) => ({ label, start: offset, length: body.length, type: 'function' }));
    if (offset === 0 && body === '') cmds.unshift({ label: '@dst', start: 0, length: 0, type: 'keyword' }, { label: '@src', start: 0, length: 0, type: 'keyword' });
    return cmds;
  }
  return [];
}

/** Command names from HMP's `help` text (`info migrate  -- show migration status` → `info`). */
export function hmpCommandsFromHelp(help: string): string[] {
  const out = new Set<string>();
  for (const line of help.split('\n')) {
    const m = /^([a-z_][a-z0-9_-]*)(?:\|[a-z_]+)?\b/.exec(line.trim());
    if (m?.[1]) out.add(m[1]);
  }
  return [...out].sort();
}
