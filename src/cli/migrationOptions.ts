/**
 * `--cap NAME=on|off` and `--param NAME=VALUE`, with one meaning in every command that takes
 * them (`qmig lab`, `qmig migrate`).
 */
import { UsageError } from './command';

/** Splits NAME=VALUE. */
export function nameValue(flag: string, text: string): [string, string] {
  const i = text.indexOf('=');
  if (i <= 0) throw new UsageError(`${flag} needs NAME=VALUE, got '${text}'`);
  return [text.slice(0, i), text.slice(i + 1)];
}

const ON = ['on', 'true', 'yes', '1'];
const OFF = ['off', 'false', 'no', '0'];

/** `--cap NAME=on|off` (also true/false, yes/no, 1/0). */
export function parseCapOption(text: string): [string, boolean] {
  const [name, state] = nameValue('--cap', text);
  if (ON.includes(state)) return [name, true];
  if (OFF.includes(state)) return [name, false];
  throw new UsageError(`--cap ${name}: value must be on or off, got '${state}'`);
}

/**
 * A `--param` value: a size with a K, M or G suffix (binary multiples) as its number of bytes,
 * on/off as a boolean, JSON when it parses (numbers, strings, objects), else the text itself
 * (an enum value such as `none` or `cpr-reboot`).
 */
export function parseParamValue(text: string): unknown {
  const size = /^(\d+)([KMG])$/i.exec(text);
  if (size) {
    const shift = { K: 10, M: 20, G: 30 }[(size[2] ?? 'K').toUpperCase() as 'K' | 'M' | 'G'];
    return Number(size[1]) * 2 ** shift;
  }
  if (text === 'on' || text === 'off') return text === 'on';
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** `--param NAME=VALUE` (see parseParamValue). */
export function parseParamOption(text: string): [string, unknown] {
  const [name, value] = nameValue('--param', text);
  return [name, parseParamValue(value)];
}

/** The lines both commands' --help use for --cap and --param. */
export const capParamHelp = `  --cap NAME=on|off    migration capability, on both sides (repeatable)
  --param NAME=VALUE   migration parameter, on both sides (repeatable); VALUE is a
                       number (K/M/G: binary multiples, 64M = 67108864), on/off,
                       an enum value such as none, or JSON`;
