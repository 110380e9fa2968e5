import { UsageError, type CliCommand, type CliIo } from '../command';
import { parseCommandArgs, wholeNumber } from '../args';
import { describeJsonPosition, jsonErrorPosition } from '../../core/qmp/jsonPosition';
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
An option that takes a value takes the next argument: --hmp -h sends '-h', it is no help.

Exit status: 0 success, 1 QMP error (stderr "ErrorClass: description"), a reply of the
wrong shape, connection failure or timeout, 2 bad usage (e.g. ARGS_JSON that is not a
JSON object), 130 Ctrl-C (SIGINT), 143 SIGTERM.

Examples:
  qmig qmp /tmp/src.sock query-status
  qmig qmp /tmp/src.sock migrate-set-capabilities '{"capabilities":[{"capability":"multifd","state":true}]}'
  qmig qmp /tmp/dst.sock migrate-incoming '{"uri":"unix:/tmp/mig.sock"}'
  qmig qmp /tmp/src.sock migrate '{"uri":"unix:/tmp/mig.sock"}' --events 3 --timeout 30000
  qmig qmp /tmp/src.sock --hmp "info migrate"
  qmig qmp tcp:127.0.0.1:4444 --events 1
  qmig qmp /tmp/src.sock migrate-pause --oob
`;

/** Parses ARGS_JSON; a UsageError names the position (and line/column) of a syntax error. */
export function parseArgsJson(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const pos = jsonErrorPosition(text, e);
    const near = pos < text.length ? `near ${JSON.stringify(text.slice(pos, pos + 12))}` : 'at the end of the input';
    const why = e instanceof Error ? e.message : String(e);
    throw new UsageError(`ARGS_JSON is not valid JSON: error at ${describeJsonPosition(text, pos)} ${near}: ${why}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const what = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
    throw new UsageError(`ARGS_JSON must be a JSON object such as '{"uri":"unix:/tmp/m.sock"}', got ${what}`);
  }
  return value as Record<string, unknown>;
}

function formatEvent(e: QmpEvent): string {
  return JSON.stringify({ event: e.event, data: e.data, timestamp: e.timestamp });
}

async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    hmp: { type: 'string' },
    events: { type: 'string' },
    timeout: { type: 'string' },
    oob: { type: 'boolean' },
  });
  if (values.help) {
    io.out(help);
    return 0;
  }
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
  const events = wholeNumber('events', values.events, 1) ?? 0;
  const timeoutMs = wholeNumber('timeout', values.timeout, 1);
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
