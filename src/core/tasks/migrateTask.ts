/**
 * The `migrate` task: connects to the QMP sockets of a source and a destination QEMU started by
 * `qemu` tasks of the same run, sets the capabilities and parameters on both, migrates (switching
 * to postcopy after some seconds or passes), and records what happened next to the QEMUs' own
 * logs: qmp.jsonl, the final query-migrate of each side and scenario.json, like a lab recording.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join } from 'node:path';
import { labFileNames } from '../lab/record';
import { QmpJournal } from '../lab/transcript';
import { endpointOf, runPairedMigration } from '../migration/actions';
import { QmpClient } from '../qmp/client';
import { version as workbenchVersion } from '../version';
import type { MigrateTaskDefinition } from './definition';
import { defaultSockets, socketPath, type RunPaths } from './plan';
import { PreflightError, postcopyCapabilityProblem, postcopySupportProblem, userfaultfdProblem, type PreflightProblem } from './preflight';
import { endedLine, readyLine, startingLine } from './problems';
import type { TaskHooks, TaskSettings } from './runTask';

export async function runMigrateTask(def: MigrateTaskDefinition, paths: RunPaths, _s: TaskSettings, hooks: TaskHooks): Promise<number> {
  const { out } = hooks;
  const postcopy = def.postcopy !== undefined;
  const early = [postcopyCapabilityProblem(postcopy, def.capabilities), postcopy ? userfaultfdProblem() : undefined].filter((p): p is PreflightProblem => p !== undefined);
  if (early.length) throw new PreflightError(early);
  const src = socketPath(paths, def.source ?? defaultSockets.qmp('source'));
  const dst = socketPath(paths, def.destination ?? defaultSockets.qmp('destination'));
  mkdirSync(paths.logDir, { recursive: true });
  mkdirSync(paths.socketDir, { recursive: true });
  const journal = new QmpJournal(join(paths.logDir, labFileNames.qmpTranscript));
  const startedAt = Date.now();
  const clients: QmpClient[] = [];
  let status = 'failed';
  let error: string | undefined;
  let qemuVersion: string | undefined;
  try {
    out.line(startingLine(`migrate ${src} → ${dst}`));
    const [s, d] = await Promise.all([src, dst].map(async (sock, i) => {
      const c = await QmpClient.connect(sock, { connectTimeoutMs: 15_000, onTranscript: journal.forSide(i === 0 ? 'src' : 'dst'), signal: hooks.signal })
        .catch((e: unknown) => { throw new Error(`cannot reach the ${i === 0 ? 'source' : 'destination'} QEMU at ${sock} (start its qemu task first): ${e instanceof Error ? e.message : String(e)}`); });
      clients.push(c);
      return c;
    }));
    if (!s || !d) throw new Error('no QMP connection');
    const v = s.greeting.version.qemu;
    qemuVersion = `${v.major}.${v.minor}.${v.micro}`;
    const [se, de] = await Promise.all([endpointOf(s), endpointOf(d)]);
    if (postcopy) {
      const missing = [postcopySupportProblem('source', se.features.capabilities), postcopySupportProblem('destination', de.features.capabilities)].filter((p): p is PreflightProblem => p !== undefined);
      if (missing.length) throw new PreflightError(missing);
    }
    const r = await runPairedMigration(se, de, {
      capabilities: { ...def.capabilities },
      parameters: { ...def.parameters },
      uri: `unix:${join(paths.socketDir, defaultSockets.migration)}`,
      ...(def.postcopy?.afterSeconds !== undefined ? { postcopyAfterMs: def.postcopy.afterSeconds * 1000 } : {}),
      ...(def.postcopy?.afterPasses !== undefined ? { postcopyAfterPasses: def.postcopy.afterPasses } : {}),
    }, {
      signal: hooks.signal,
      onStep: (step) => out.line(step),
      onWarnings: (w) => { for (const x of w) out.line(`${x.severity}: ${x.message}`); },
    });
    status = r.status;
    writeFileSync(join(paths.logDir, labFileNames.finalQueryMigrateSrc), JSON.stringify(r.source, null, 2) + '\n');
    if (r.destination) writeFileSync(join(paths.logDir, labFileNames.finalQueryMigrateDst), JSON.stringify(r.destination, null, 2) + '\n');
    out.line(readyLine(`migration ${r.status}: ${r.source['total-time'] ?? '?'} ms, downtime ${r.source.downtime ?? '?'} ms, ${r.source.ram?.['postcopy-requests'] ?? 0} postcopy requests`));
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
    throw e;
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    journal.close();
    const record = {
      tool: 'qemu-migration task', workbenchVersion, scenario: `migrate${postcopy ? ' (postcopy)' : ''}`,
      description: `task run ${def.run}: migrate ${src} → ${dst}`,
      status: status === 'completed' ? 'completed' : 'failed', ...(error !== undefined ? { error } : {}),
      startTime: new Date(startedAt).toISOString(), endTime: new Date().toISOString(), durationMs: Date.now() - startedAt,
      host: { platform: process.platform, kernel: release(), cpus: cpus().length },
      qemu: { ...(qemuVersion !== undefined ? { version: qemuVersion } : {}) },
      capabilities: def.capabilities, parameters: def.parameters, postcopy: def.postcopy ?? null,
      files: { qmpTranscript: labFileNames.qmpTranscript },
    };
    writeFileSync(join(paths.logDir, labFileNames.scenario), JSON.stringify(record, null, 2) + '\n');
    out.line(endedLine(`migrate: ${status}${error !== undefined ? ` (${error})` : ''}; recorded in ${paths.logDir}`));
  }
  await hooks.onRecording?.(paths.logDir);
  return status === 'completed' ? 0 : 1;
}
