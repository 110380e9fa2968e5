/** Command-line parsing shared by every `qmig` command: node:util parseArgs, strict, with --help/-h. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './command';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

const helpOption = { help: { type: 'boolean', short: 'h' } } as const;

/**
 * An option that takes a value takes the next argument whatever it looks like, as getopt
 * does (`--trace -postcopy_*`, `--hmp -h`): joined as `--name=value` before parsing.
 */
function joinValues(args: readonly string[], options: OptionsConfig): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    // `-o VALUE` as well as `--output VALUE`: the value is taken whatever it starts with.
    const name = a.startsWith('--') ? a.slice(2) : /^-[^-]$/.test(a) ? Object.keys(options).find((k) => options[k]?.short === a.slice(1)) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined) {
      out.push(`--${name}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/**
 * Parses args against options (plus --help/-h). `-h` is help only where it is not an
 * option's value. Unknown options and missing values are UsageErrors.
 */
export function parseCommandArgs<const O extends OptionsConfig>(args: readonly string[], options: O) {
  try {
    return parseArgs({ args: joinValues(args, options), options: { ...options, ...helpOption }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}

/** A whole number of milliseconds (or other unit) of at least min, or undefined when absent. */
export function wholeNumber(flag: string, text: string | undefined, min = 0): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < min) {
    throw new UsageError(`--${flag} needs a whole number of at least ${min}, got '${text}'`);
  }
  return Number(text);
}

/** A finite number, or undefined when absent. */
export function finiteNumber(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${flag} needs a number, got '${text}'`);
  return n;
}
