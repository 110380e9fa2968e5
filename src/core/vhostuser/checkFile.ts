import { readFileSync } from 'node:fs';
import { checkFlow, detectFormat, parseFlow, type CheckResult, type FlowKind, type LoadedSpec } from './check';
import { MessageNames } from './flow';
import { needsTraceEngine, readQemuTraceFlow } from './flowTraceStore';

export interface CheckFileOptions {
  readonly format?: FlowKind | undefined;
  readonly connection?: string | undefined;
  /** Catalogue version for simpletrace files (e.g. "7.2"); default: the newest built-in. */
  readonly qemuVersion?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Checks a file: QEMU traces go through the trace engine (plain, gzip, xz, simpletrace), the
 * other sources (DPDK and libvhost-user logs, strace captures) through their text parsers.
 */
export async function checkFile(path: string, spec: LoadedSpec, opts: CheckFileOptions = {}): Promise<CheckResult> {
  if (opts.format === undefined || opts.format === 'qemu-trace') {
    if (needsTraceEngine(path)) {
      return checkFlow(await readQemuTraceFlow(path, new MessageNames(spec.model), { qemuVersion: opts.qemuVersion, signal: opts.signal }), spec);
    }
  }
  const text = readFileSync(path, 'utf8');
  const format = opts.format ?? detectFormat(text);
  if (format === 'qemu-trace') {
    return checkFlow(await readQemuTraceFlow(path, new MessageNames(spec.model), { qemuVersion: opts.qemuVersion, signal: opts.signal }), spec);
  }
  return checkFlow(parseFlow(text, spec.model, { ...(format ? { format } : {}), ...(opts.connection ? { connection: opts.connection } : {}) }), spec);
}
