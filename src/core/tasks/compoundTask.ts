/**
 * "Postcopy migration with vhost-user-bridge": the lab's postcopy-vhost-user-bridge scenario run
 * as a task. Two bridges, the destination and the source QEMU (each with a second monitor for the
 * Connections view), postcopy-ram on both sides, migrate, switch to postcopy; every process's
 * output in the terminal with a located line per problem; the whole run recorded like any lab run.
 * With keepRunning the QEMUs stay until the task is ended.
 */
import { join } from 'node:path';
import { labFileNames, recordingFolderName } from '../lab/record';
import { runLab } from '../lab/runner';
import type { LabOutputSource } from '../lab/types';
import { resolveQemu } from '../qemu/installs';
import type { CompoundTaskDefinition } from './definition';
import type { OutputSource } from './plan';
import { PreflightError, userfaultfdProblem } from './preflight';
import { endedLine, problemInLine, problemLine, readyLine, startingLine } from './problems';
import type { TaskHooks, TaskSettings } from './runTask';

export const COMPOUND_SCENARIO = 'postcopy-vhost-user-bridge';

const fileOf: Readonly<Record<LabOutputSource, keyof typeof labFileNames>> = {
  'src-qemu': 'srcQemuStderr', 'dst-qemu': 'dstQemuStderr', 'src-bridge': 'srcBridgeLog', 'dst-bridge': 'dstBridgeLog',
  'src-testpmd': 'srcTestpmdLog', 'dst-testpmd': 'dstTestpmdLog',
};

export async function runCompoundTask(def: CompoundTaskDefinition, s: TaskSettings, hooks: TaskHooks): Promise<number> {
  const { out } = hooks;
  const uffd = userfaultfdProblem();
  if (uffd) throw new PreflightError([uffd]);
  const find = { ...(s.cacheDir !== undefined ? { cacheDir: s.cacheDir } : {}), ...(s.configuredQemus ? { configured: s.configuredQemus } : {}) };
  // QEMU 10.0 when it is installed, else the QEMU of the settings: both fail the same way.
  const qemu = def.qemu !== undefined ? await resolveQemu(def.qemu, find) : await resolveQemu('10.0', find).catch(() => resolveQemu(s.qemuBinary, find));
  const outDir = join(s.recordingsDir, recordingFolderName(COMPOUND_SCENARIO, new Date()));

  // Ending the task while the QEMUs are kept lets the run finish as completed; before that it aborts it.
  const abort = new AbortController();
  let release: (() => void) | undefined;
  const onEnd = (): void => { if (release) release(); else abort.abort(); };
  if (hooks.signal.aborted) onEnd();
  else hooks.signal.addEventListener('abort', onEnd, { once: true });

  const lines = new Map<LabOutputSource, number>();
  let errors = 0;
  out.line(startingLine(`${COMPOUND_SCENARIO} on QEMU ${qemu.versionText} (${qemu.binary}) → ${outDir}`));
  try {
    const r = await runLab({
      scenario: COMPOUND_SCENARIO, outDir, qemu,
      qemuBuildDirs: s.buildDirs,
      ...(s.cacheDir !== undefined ? { cacheDir: s.cacheDir } : {}),
      ...(s.nasmBinary !== undefined ? { nasmBinary: s.nasmBinary } : {}),
      ...(s.accelerators !== undefined ? { accelerators: [...s.accelerators] } : {}),
      monitorSockets: true,
    }, {
      signal: abort.signal,
      progress: (step) => out.line(`qemu-migration: step: ${step}`),
      log: (line) => out.line(`[lab] ${line}`),
      output: (source, line) => {
        const n = (lines.get(source) ?? 0) + 1;
        lines.set(source, n);
        out.line(`[${source}] ${line}`);
        const kind = source.slice(4) as OutputSource;
        const p = problemInLine(kind, line);
        if (!p) return;
        if (p.severity === 'error') errors++;
        out.line(problemLine(join(outDir, labFileNames[fileOf[source]]), n, p));
      },
      monitor: (side, socket) => hooks.onMonitor?.(side === 'src' ? 'source' : 'destination', socket, `${side} QEMU`),
      beforeTeardown: async () => {
        out.line(readyLine(`migration completed; checking ${outDir}`));
        await hooks.onRecording?.(outDir);
        if (!def.keepRunning || hooks.signal.aborted) return;
        out.line('qemu-migration: the QEMUs keep running for a look (Connections view); end the task to stop them');
        await new Promise<void>((resolve) => { release = resolve; });
      },
    });
    const verdict = errors > 0 ? `, but its processes reported ${errors} error(s) (see the Problems panel)` : '';
    out.line(endedLine(`${COMPOUND_SCENARIO} ${r.status} in ${(r.durationMs / 1000).toFixed(1)} s${verdict}; every process ended, sockets removed; recorded in ${outDir}`));
    return errors > 0 ? 1 : 0;
  } catch (e) {
    out.line(endedLine(`${COMPOUND_SCENARIO} did not complete: ${e instanceof Error ? e.message : String(e)}; what was recorded is in ${outDir}`));
    return 1;
  } finally {
    hooks.signal.removeEventListener('abort', onEnd);
  }
}
