import { spawn, type ChildProcess } from 'node:child_process';

/** What `qmig vhost-user capture` records: every socket read/write of one process, full payloads in hex. */
export interface CaptureOptions {
  readonly pid: number;
  readonly out: string;
  /** strace binary; default `strace` from PATH. */
  readonly strace?: string;
}

/**
 * The strace argument array (never a shell line). `-xx` prints every byte as `\xNN`, `-s 65536`
 * keeps whole messages, `-f` follows the threads that own the vhost-user socket.
 */
export function straceArgs(opts: CaptureOptions): string[] {
  if (!Number.isInteger(opts.pid) || opts.pid <= 0) throw new Error(`not a process id: ${String(opts.pid)}`);
  return ['-f', '-xx', '-s', '65536', '-e', 'trace=sendmsg,recvmsg,read,write', '-o', opts.out, '-p', String(opts.pid)];
}

export interface RunningCapture {
  readonly child: ChildProcess;
  /** Resolves when strace has attached (its "Process N attached" line) or rejects if it exits first. */
  readonly attached: Promise<void>;
  /** Detaches strace (SIGINT) and resolves with its exit code. */
  stop(): Promise<number | null>;
}

/** Starts strace on `pid` in its own process group; `stop()` ends it by its id. */
export function startCapture(opts: CaptureOptions): RunningCapture {
  const child = spawn(opts.strace ?? 'strace', straceArgs(opts), { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const attached = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (/attached/.test(stderr)) resolve();
    });
    void exited.then((code) => reject(new Error(`strace exited (${String(code)}) before attaching: ${stderr.trim()}`)));
  });
  attached.catch(() => undefined);
  return {
    child,
    attached,
    async stop() {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try { process.kill(child.pid, 'SIGINT'); } catch { /* already gone */ }
      }
      return exited;
    },
  };
}
