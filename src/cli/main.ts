import { commands } from './commands/index';
import { CliInterrupt, UsageError, interruptedExitCode, type CliIo } from './command';
import { terminalSafe } from './terminalText';
import { version } from '../core/version';

function topHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 4);
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    `qmig ${version} - QEMU Migration Workbench on the command line`,
    '',
    'Usage: qmig <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Options:',
    '  --help, -h     show help (also after any command: qmig <command> --help)',
    '  --version, -V  print the version',
    '',
    'Output escapes control characters that come from traces, QMP peers or file names.',
    'Ctrl-C (SIGINT) ends a command with exit status 130, SIGTERM with 143.',
  ].join('\n');
}

/** The io a command writes through: text from outside (traces, QMP, paths) cannot drive the terminal. */
function safeIo(io: CliIo): CliIo {
  return {
    out: (t) => io.out(terminalSafe(t)),
    err: (t) => io.err(terminalSafe(t)),
    control: (s) => (io.control ?? io.out)(s),
    signal: io.signal,
    isTty: io.isTty,
  };
}

export async function main(argv: string[], rawIo: CliIo): Promise<number> {
  const io = safeIo(rawIo);
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    io.out(topHelp() + '\n');
    return first === undefined ? 2 : 0;
  }
  if (first === '--version' || first === '-V') {
    io.out(`${version}\n`);
    return 0;
  }
  const cmd = commands.find((c) => c.name === first);
  if (!cmd) {
    io.err(`qmig: unknown command '${first}'. Run 'qmig --help' for the list.\n`);
    return 2;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`qmig ${cmd.name}: ${e.message}\nRun 'qmig ${cmd.name} --help' for usage.\n`);
      return 2;
    }
    if (io.signal.aborted) {
      const reason: unknown = io.signal.reason;
      io.err(`qmig ${cmd.name}: ${reason instanceof CliInterrupt ? reason.message : 'interrupted'}\n`);
      return interruptedExitCode(io.signal);
    }
    io.err(`qmig ${cmd.name}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

/** Runs the command line of this process (the launcher's, or this file's when run itself) and sets its exit code. */
export function runFromCommandLine(): void {
  const controller = new AbortController();
  const onSignal = (name: 'SIGINT' | 'SIGTERM'): void => {
    if (controller.signal.aborted) process.exit(interruptedExitCode(controller.signal));
    controller.abort(new CliInterrupt(name));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  // The reader of standard output went away (`qmig trace export ... | head`): nothing more to say.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  const io: CliIo = {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    signal: controller.signal,
    isTty: Boolean(process.stdout.isTTY),
  };
  main(process.argv.slice(2), io).then(
    (code) => { process.exitCode = code; },
    (e: unknown) => { process.stderr.write(terminalSafe(`qmig: ${String(e)}\n`)); process.exitCode = 1; },
  );
}

if (require.main === module) runFromCommandLine();
