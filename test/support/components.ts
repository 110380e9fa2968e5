import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { findVhostUserBridge } from '../../src/core/qemu/bridge';

/**
 * Real components the integration and e2e tests run against. When one is missing a test
 * skips locally, but with CI=true it fails: CI installs everything in .ci/run.
 */
export const inCi = process.env.CI === 'true';

/** Returns true when `bin` runs (`bin args` exits 0). */
export function hasProgram(bin: string, args: string[] = ['--version']): boolean {
  const r = spawnSync(bin, args, { stdio: 'ignore', timeout: 20_000 });
  return r.status === 0;
}

export function hasFile(path: string): boolean {
  return existsSync(path);
}

/**
 * Call at the start of a test that needs a real component. Returns false (and marks the test
 * skipped) when it is missing outside CI; throws under CI=true so the run fails.
 */
export function requireComponent(t: TestContext, name: string, present: boolean): boolean {
  if (present) return true;
  const why = `${name} is not installed (bash .ci/run or scripts/setup.sh installs it)`;
  if (inCi) throw new Error(`CI=true and ${why}`);
  t.skip(why);
  return false;
}

/** QEMU's tests/vhost-user-bridge, when built (scripts/setup.sh builds it from QEMU's source). */
export function bridgePath(): string | undefined {
  try {
    return findVhostUserBridge().path;
  } catch {
    return undefined;
  }
}

export const bridgeInstalled = (): boolean => bridgePath() !== undefined;
