// What the tests ask of processes they started: is a pid still running (a zombie is not), and
// waiting for something to become true, each with a limit.
import { readdirSync, readFileSync } from 'node:fs';

/** True while the process runs; false once it ended (a zombie awaiting its parent counts as ended). */
export function processAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Live processes with an argument that contains `marker` (a test's own folder): pid and argv[0]. */
export function processesNaming(marker: string): { pid: number; argv0: string }[] {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).flatMap((n) => {
    try {
      const argv = readFileSync(`/proc/${n}/cmdline`, 'utf8').split('\0');
      return argv.some((a) => a.includes(marker)) && processAlive(Number(n)) ? [{ pid: Number(n), argv0: argv[0] ?? '' }] : [];
    } catch {
      return [];
    }
  });
}

/**
 * Ends, by process group, every process still running whose arguments name one of `markers`: what
 * a test started through VS Code in its own folders, when the test failed before it could end it.
 */
export function endProcessesNaming(...markers: string[]): void {
  for (const { pid } of markers.flatMap((m) => processesNaming(m))) {
    try { process.kill(-pid, 'SIGKILL'); } catch { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  }
}

/** Polls probe until it returns a value other than undefined; throws naming `what` after timeoutMs. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>, pollMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
