// What the tests ask of processes they started: is a pid still running (a zombie is not), and
// waiting for something to become true, each with a limit.
import { readFileSync } from 'node:fs';

/** True while the process runs; false once it ended (a zombie awaiting its parent counts as ended). */
export function processAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
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
