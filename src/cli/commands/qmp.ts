import { parseArgs } from 'node:util';
import { UsageError, type CliCommand, type CliIo } from '../command';
import { QmpClient, type QmpConnectOptions } from '../../core/qmp/client';
import { QmpError, QmpTimeoutError } from '../../core/qmp/errors';
import type { QmpEvent } from '../../core/qmp/messages';
import { parseQmpTarget } from '../../core/qmp/target';

const help = `qmig qmp - send one QMP command (or HMP command line) to a QEMU monitor

Usage:
  qmig qmp SOCKET COMMAND [ARGS_JSON] [--events N] [--timeout MS] [--oob]
  qmig qmp SOCKET --hmp "COMMAND LINE" [--events N] [--timeout MS]
  qmig qmp SOCKET --events N [--timeout MS]

SOCKET is a unix socket path (/run/q.sock, ./q.sock, unix:/run/q.sock) or tcp:HOST:PORT.
The command's return value is printed as JSON on stdout; an HMP command's text as is.

Options:
  --hmp LINE     run a human monitor command line instead of a QMP command
  --events N     after the command (if any), wait for N events and print each as one JSON line
                 ({"event", "data", "timestamp"}); events caused by the command are included
  --timeout MS   limit for connecting, for the command, and for all --events together
                 (default: 10 s to connect, 60 s per command, events without limit)
  --oob          send the command out-of-band (exec-oob); needs a QEMU that offers 'oob'
  --help, -h     show this help

Exit status: 0 success, 1 QMP error (stderr "ErrorClass: description"), connection
failure or timeout, 2 bad usage (e.g. ARGS_JSON that is not a JSON object).

Examples:
  qmig qmp /tmp/src.sock query-status
  qmig qmp /tmp/src.sock migrate-set-capabilities '{"capabilities":[{"capability":"multifd","state":true}]}'
  qmig qmp /tmp/dst.sock migrate-incoming '{"uri":"unix:/tmp/mig.sock"}'
  qmig qmp /tmp/src.sock migrate '{"uri":"unix:/tmp/mig.sock"}' --events 3 --timeout 30000
  qmig qmp /tmp/src.sock --hmp "info migrate"
  qmig qmp tcp:127.0.0.1:4444 --events 1
  qmig qmp /tmp/src.sock migrate-pause --oob
`;

/** Offset of the first character where `text` stops being valid JSON, or -1 when it is valid. */
export function jsonErrorPosition(text: string): number {
  let i = 0;
  const fail = (): never => {
    throw new JsonStop(i);
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text.charAt(i))) i++;
  };
  const literal = (word: string): void => {
    for (const ch of word) {
      if (text.charAt(i) !== ch) fail();
      i++;
    }
  };
  const string = (): void => {
    i++;
    for (;;) {
      if (i >= text.length) fail();
      const ch = text.charAt(i);
      if (ch === '"') {
        i++;
        return;
      }
      if (ch < ' ') fail();
      if (ch === '\\') {
        i++;
        const esc = text.charAt(i);
        if (esc === 'u') {
          for (let k = 1; k <= 4; k++) {
            if (!/[0-9a-fA-F]/.test(text.charAt(i + k))) {
              i += k;
              fail();
            }
          }
          i += 5;
          continue;
        }
        if (!'"\\/bfnrt'.includes(esc) || esc === '') fail();
      }
      i++;
    }
  };
  const digits = (): void => {
    if (!/[0-9]/.test(text.charAt(i))) fail();
    while (/[0-9]/.test(text.charAt(i))) i++;
  };
  const number = (): void => {
    if (text.charAt(i) === '-') i++;
    if (text.charAt(i) === '0') i++;
    else digits();
    if (text.charAt(i) === '.') {
      i++;
      digits();
    }
    if (text.charAt(i) === 'e' || text.charAt(i) === 'E') {
      i++;
      if (text.charAt(i) === '+' || text.charAt(i) === '-') i++;
      digits();
    }
  };
  const value = (): void => {
    ws();
    const ch = text.charAt(i);
    if (ch === '{') {
      i++;
      ws();
      if (text.charAt(i) === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text.charAt(i) !== '"') fail();
        string();
        ws();
        if (text.charAt(i) !== ':') fail();
        i++;
        value();
        ws();
        if (text.charAt(i) === ',') i++;
        else if (text.charAt(i) === '}') {
          i++;
          return;
        } else fail();
      }
    }
    if (ch === '[') {
      i++;
      ws();
      if (text.charAt(i) === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text.charAt(i) === ',') i++;
        else if (text.charAt(i) === ']') {
          i++;
          return;
        } else fail();
      }
    }
    if (ch === '"') return string();
    if (ch === 't') return literal('true');
    if (ch === 'f') return literal('false');
    if (ch === 'n') return literal('null');
    if (ch === '-' || (ch >= '0' && ch <= '9')) return number();
    fail();
  };
  try {
    value();
    ws();
    return i < text.length ? i : -1;
  } catch (e) {
    if (e instanceof JsonStop) return e.position;
    throw e;
  }
}

class JsonStop {
  constructor(readonly position: number) {}
}

/** Parses ARGS_JSON; a UsageError names the position (and line/column) of a syntax error. */
export function parseArgsJson(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const pos = Math.max(0, jsonErrorPosition(text));
    const before = text.slice(0, pos);
    const line = before.split('\n').length;
    const column = pos - before.lastIndexOf('\n');
    const near = pos < text.length ? `near ${JSON.stringify(text.slice(pos, pos + 12))}` : 'at the end of the input';
    const why = e instanceof Error ? e.message : String(e);
    throw new UsageError(`ARGS_JSON is not valid JSON: error at position ${pos} (line ${line}, column ${column}) ${near}: ${why}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const what = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
    throw new UsageError(`ARGS_JSON must be a JSON object such as '{"uri":"unix:/tmp/m.sock"}', got ${what}`);
  }
  return value as Record<string, unknown>;
}

function parseCount(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min) {
    throw new UsageError(`--${name} needs a whole number of at least ${min}, got '${text}'`);
  }
  return Number(text);
}

function formatEvent(e: QmpEvent): string {
  return JSON.stringify({ event: e.event, data: e.data, timestamp: e.timestamp });
}

async function run(args: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        hmp: { type: 'string' },
        events: { type: 'string' },
        timeout: { type: 'string' },
        oob: { type: 'boolean' },
      },
    });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const { values, positionals } = parsed;
  const [socket, command, argsJson, ...extra] = positionals;
  if (socket === undefined) throw new UsageError('missing SOCKET (a unix socket path or tcp:HOST:PORT)');
  const target = (() => {
    try {
      return parseQmpTarget(socket);
    } catch (e) {
      throw new UsageError(e instanceof Error ? e.message : String(e));
    }
  })();
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0] ?? ''}' after ARGS_JSON`);
  const hmpLine = values.hmp;
  if (hmpLine !== undefined && command !== undefined) {
    throw new UsageError(`give either COMMAND ('${command}') or --hmp, not both`);
  }
  if (hmpLine !== undefined && values.oob) throw new UsageError('--oob applies to QMP commands, not --hmp');
  const events = parseCount('events', values.events, 1) ?? 0;
  const timeoutMs = parseCount('timeout', values.timeout, 1);
  if (command === undefined && hmpLine === undefined && events === 0) {
    throw new UsageError('nothing to do: give a COMMAND, --hmp LINE or --events N');
  }
  const commandArgs = argsJson === undefined ? undefined : parseArgsJson(argsJson);

  const options: QmpConnectOptions = { signal: io.signal };
  if (timeoutMs !== undefined) {
    options.connectTimeoutMs = timeoutMs;
    options.commandTimeoutMs = timeoutMs;
  }
  const client = await QmpClient.connect(target, options);
  try {
    const queued: QmpEvent[] = [];
    let wake: (() => void) | undefined;
    const off = client.onEvent((e) => {
      queued.push(e);
      wake?.();
    });
    try {
      if (hmpLine !== undefined) {
        const text = await client.hmp(hmpLine);
        const out = text.replace(/\r\n/g, '\n');
        io.out(out === '' || out.endsWith('\n') ? out : out + '\n');
      } else if (command !== undefined) {
        const value = await client.execute(command, commandArgs, { oob: values.oob ?? false });
        io.out(JSON.stringify(value, null, 2) + '\n');
      }
    } catch (e) {
      if (e instanceof QmpError) {
        io.err(`${e.errorClass}: ${e.description}\n`);
        return 1;
      }
      throw e;
    }
    if (events > 0) {
      const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
      let printed = 0;
      while (printed < events) {
        const next = queued.shift();
        if (next) {
          io.out(formatEvent(next) + '\n');
          printed++;
          continue;
        }
        await new Promise<void>((resolve, reject) => {
          const left = deadline - Date.now();
          const timer = Number.isFinite(left)
            ? setTimeout(() => {
                finish();
                reject(new QmpTimeoutError(`received ${printed} of ${events} events within ${timeoutMs ?? 0} ms`, timeoutMs ?? 0));
              }, Math.max(0, left))
            : undefined;
          const offClose = client.onClose((err) => {
            finish();
            reject(err ?? new Error('connection closed'));
          });
          const onAbort = (): void => {
            finish();
            reject(new Error(`interrupted after ${printed} of ${events} events`));
          };
          const finish = (): void => {
            if (timer) clearTimeout(timer);
            offClose();
            io.signal.removeEventListener('abort', onAbort);
            wake = undefined;
          };
          wake = () => {
            finish();
            resolve();
          };
          if (io.signal.aborted) onAbort();
          else io.signal.addEventListener('abort', onAbort, { once: true });
        });
      }
    }
    off();
    return 0;
  } finally {
    await client.close();
  }
}

export const qmpCommand: CliCommand = {
  name: 'qmp',
  summary: 'send a QMP or HMP command to a QEMU monitor socket, or watch its events',
  help,
  run,
};
