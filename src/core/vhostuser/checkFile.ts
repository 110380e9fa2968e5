import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { labFileNames } from '../lab/record';
import { resolveCatalogue, type CatalogueChoice, type ResolveOptions } from '../trace/catalogueResolver';
import { looksLikeBackendLog, parseBackendLog } from './backendLog';
import { checkFlow, detectFormat, parseFlow, type BackendSource, type CheckResult, type FlowKind, type LoadedSpec, type StderrSource } from './check';
import { diagnoseBackend } from './diagnose';
import { MessageNames, type Flow } from './flow';
import { needsTraceEngine, readQemuTraceFlow } from './flowTraceStore';
import { parseQemuStderr } from './qemuStderr';

export interface CheckFileOptions {
  readonly format?: FlowKind | undefined;
  readonly connection?: string | undefined;
  /** Catalogue candidates for QEMU traces (catalogueResolver): the user's trees, or a version asked for. */
  readonly catalogues?: ResolveOptions | undefined;
  readonly signal?: AbortSignal | undefined;
  /** The back-end's own output (tests/vhost-user-bridge, a libvhost-user back-end). */
  readonly backendLog?: string | undefined;
  /** QEMU's stderr. */
  readonly qemuStderr?: string | undefined;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the ${what} ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export function readBackendSource(path: string): BackendSource {
  return { file: path, log: parseBackendLog(readText(path, 'back-end log')) };
}

export function readStderrSource(path: string): StderrSource {
  return { file: path, lines: parseQemuStderr(readText(path, 'QEMU stderr file')) };
}

const noFlow = (format: FlowKind): Flow => ({
  format, connection: undefined, visibility: { flags: false, payloads: false, fds: false, replies: false }, messages: [], otherConnections: [],
});

/** The check of one file and, for a QEMU trace, which catalogue decoded it and why. */
export interface FileCheckResult extends CheckResult {
  readonly catalogue: CatalogueChoice | null;
}

async function traceFlow(path: string, names: MessageNames, opts: CheckFileOptions): Promise<{ flow: Flow; catalogue: CatalogueChoice }> {
  const { catalogue, choice } = await resolveCatalogue(path, opts.catalogues);
  return { flow: await readQemuTraceFlow(path, names, { catalogue, signal: opts.signal }), catalogue: choice };
}

/**
 * Checks a file: QEMU traces go through the trace engine (plain, gzip, xz, simpletrace), the
 * other sources (DPDK and libvhost-user logs, strace captures) through their text parsers. A
 * back-end's log or QEMU's stderr given beside it are read for the back-end's death (diagnose.ts);
 * a back-end log given as the file itself is diagnosed alone.
 */
export async function checkFile(path: string, spec: LoadedSpec, opts: CheckFileOptions = {}): Promise<FileCheckResult> {
  const names = new MessageNames(spec.model);
  let flow: Flow;
  let catalogue: CatalogueChoice | null = null;
  let backend = opts.backendLog !== undefined ? readBackendSource(opts.backendLog) : undefined;
  const engine = (opts.format === undefined || opts.format === 'qemu-trace') && needsTraceEngine(path);
  if (engine) {
    ({ flow, catalogue } = await traceFlow(path, names, opts));
  } else {
    const text = readText(path, 'file');
    const format = opts.format ?? detectFormat(text);
    if (format === 'qemu-trace') {
      ({ flow, catalogue } = await traceFlow(path, names, opts));
    } else if (format === undefined && looksLikeBackendLog(text)) {
      backend ??= { file: path, log: parseBackendLog(text) };
      flow = noFlow('libvhost-user-log');
    } else {
      flow = parseFlow(text, spec.model, { ...(format ? { format } : {}), ...(opts.connection ? { connection: opts.connection } : {}) });
    }
  }
  const stderr = opts.qemuStderr !== undefined ? readStderrSource(opts.qemuStderr) : undefined;
  return { ...diagnoseBackend(checkFlow(flow, spec), spec, { traceFile: path, backend, stderr }), catalogue };
}

export type RecordingSideName = 'src' | 'dst';

/** The files of one side of a recording folder. */
export interface RecordingSide {
  readonly side: RecordingSideName;
  readonly trace: string;
  readonly backendLog: string | undefined;
  readonly qemuStderr: string | undefined;
}

export function isRecordingDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** scenario.json's `files` (names relative to the folder), when it has them; validated, never trusted. */
function recordedFiles(dir: string): Record<string, string> {
  const p = join(dir, labFileNames.scenario);
  if (!existsSync(p)) return {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(p, 'utf8'));
    const files = typeof parsed === 'object' && parsed !== null ? (parsed as { files?: unknown }).files : undefined;
    if (typeof files !== 'object' || files === null) return {};
    return Object.fromEntries(Object.entries(files).filter((e): e is [string, string] => typeof e[1] === 'string' && !e[1].includes('..') && !e[1].startsWith('/')));
  } catch (e) {
    throw new Error(`${p}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** The sides of a recording (lab run or task run) that have a QEMU trace, with their other sources. */
export function recordingSides(dir: string): RecordingSide[] {
  const files = recordedFiles(dir);
  const pick = (key: keyof typeof labFileNames): string | undefined => {
    const p = join(dir, files[key] ?? labFileNames[key]);
    return existsSync(p) ? p : undefined;
  };
  const sides: RecordingSide[] = [];
  for (const side of ['src', 'dst'] as const) {
    const trace = pick(side === 'src' ? 'srcTrace' : 'dstTrace');
    if (!trace) continue;
    sides.push({
      side,
      trace,
      backendLog: pick(side === 'src' ? 'srcBridgeLog' : 'dstBridgeLog'),
      qemuStderr: pick(side === 'src' ? 'srcQemuStderr' : 'dstQemuStderr'),
    });
  }
  if (sides.length === 0) throw new Error(`${dir}: no ${labFileNames.srcTrace} or ${labFileNames.dstTrace}: not a recording folder`);
  return sides;
}

/** Checks each side of a recording folder with its back-end log and QEMU stderr. */
export async function checkRecording(dir: string, spec: LoadedSpec, opts: Pick<CheckFileOptions, 'catalogues' | 'signal'> = {}): Promise<{ side: RecordingSide; result: FileCheckResult }[]> {
  const out: { side: RecordingSide; result: FileCheckResult }[] = [];
  for (const side of recordingSides(dir)) {
    out.push({ side, result: await checkFile(side.trace, spec, { ...opts, backendLog: side.backendLog, qemuStderr: side.qemuStderr }) });
  }
  return out;
}
