/**
 * The last question before a lab run: the scenario's defaults in one line (Enter runs them),
 * and each choice that shapes the run (accelerator, multifd channels, bandwidth cap, how fast
 * the guest dirties memory, how much memory it has, when postcopy starts) one pick away.
 */
import { accessSync, constants } from 'node:fs';
import * as vscode from 'vscode';
import { labDefaults } from '../core/lab/options';
import { scenarioPlan, type ScenarioPlan } from '../core/lab/scenarios';
import type { LabOptions, LabScenario } from '../core/lab/types';
import { parameterText } from '../core/monitor/parameterText';

const MiB = 1024 * 1024;

/** What the user may change; everything else stays as the scenario has it. */
export type LabChoices = Required<Pick<LabOptions, 'accelerators' | 'dirtyRateMiBps' | 'memoryMiB'>> & Pick<LabOptions, 'parameters' | 'postcopyAfterMs'>;

function kvmUsable(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

interface Choice<T> {
  readonly value: T;
  readonly label: string;
  readonly detail?: string;
}

interface Option {
  readonly icon: string;
  readonly name: string;
  /** The current value as shown. */
  current(c: LabChoices): string;
  readonly detail: string;
  /** The values offered, described against the other current choices. */
  choices(c: LabChoices): Choice<(c: LabChoices) => LabChoices>[];
}

function defaults(plan: ScenarioPlan): LabChoices {
  return {
    accelerators: [...labDefaults.accelerators],
    dirtyRateMiBps: plan.dirtyRateMiBps,
    memoryMiB: labDefaults.memoryMiB,
    parameters: { ...plan.parameters },
    ...(plan.postcopy ? { postcopyAfterMs: labDefaults.postcopyAfterMs } : {}),
  };
}

function withParameter(name: string, value: number): (c: LabChoices) => LabChoices {
  return (c) => ({ ...c, parameters: { ...c.parameters, [name]: value } });
}

function options(plan: ScenarioPlan): Option[] {
  const out: Option[] = [];
  const kvm = kvmUsable();
  out.push({
    icon: 'chip', name: 'Accelerator', current: (c) => c.accelerators.join(', then '),
    detail: kvm ? 'tcg emulates and runs anywhere; kvm is faster where this host allows it' : 'tcg emulates and runs anywhere (/dev/kvm is not usable here)',
    choices: () => [
      { value: (c) => ({ ...c, accelerators: ['tcg'] }), label: 'tcg', detail: 'emulated: slower guest, same migration code' },
      ...(kvm ? [
        { value: (c: LabChoices) => ({ ...c, accelerators: ['kvm', 'tcg'] }), label: 'kvm, then tcg', detail: 'KVM when it starts, else emulated' },
        { value: (c: LabChoices) => ({ ...c, accelerators: ['kvm'] }), label: 'kvm', detail: 'fails when KVM cannot start' },
      ] : []),
    ],
  });
  if (plan.capabilities['multifd'] === true) {
    out.push({
      icon: 'list-tree', name: 'multifd channels', current: (c) => String(c.parameters?.['multifd-channels'] ?? 2),
      detail: 'multifd-channels: one send and one receive thread per channel, one lane each in the migration view',
      choices: () => [1, 2, 4, 8].map((n) => ({ value: withParameter('multifd-channels', n), label: String(n) })),
    });
  }
  if (typeof plan.parameters['max-bandwidth'] === 'number') {
    out.push({
      icon: 'dashboard', name: 'max-bandwidth', current: (c) => parameterText('max-bandwidth', c.parameters?.['max-bandwidth']),
      detail: 'the precopy cap: lower makes more dirty-bitmap passes and a longer run',
      choices: (c) => [8, 16, 32, 64, 128, 1024].map((n) => ({
        value: withParameter('max-bandwidth', n * MiB), label: parameterText('max-bandwidth', n * MiB),
        detail: passTime(c.memoryMiB, n * MiB),
      })),
    });
  }
  out.push({
    icon: 'flame', name: 'Guest dirty rate', current: (c) => `${c.dirtyRateMiBps} MiB/s`,
    detail: 'how fast the lab guest rewrites its memory: faster than max-bandwidth and precopy never converges on its own',
    choices: () => [0, 4, 8, 16, 32, 64].map((n) => ({ value: (c: LabChoices) => ({ ...c, dirtyRateMiBps: n }), label: `${n} MiB/s`, ...(n === 0 ? { detail: 'an idle guest' } : {}) })),
  });
  out.push({
    icon: 'server', name: 'Guest memory', current: (c) => `${c.memoryMiB} MiB`,
    detail: 'the guest RAM QEMU migrates: with max-bandwidth it sets how long each pass, and so the migration, takes',
    choices: (c) => [64, 128, 256, 512, 1024].map((n) => {
      const cap = c.parameters?.['max-bandwidth'];
      return { value: (x: LabChoices) => ({ ...x, memoryMiB: n }), label: `${n} MiB`, ...(typeof cap === 'number' ? { detail: passTime(n, cap) } : {}) };
    }),
  });
  if (plan.postcopy) {
    out.push({
      icon: 'debug-step-over', name: 'Postcopy after', current: (c) => `${((c.postcopyAfterMs ?? labDefaults.postcopyAfterMs) / 1000).toFixed(1)} s`,
      detail: 'time from migrate to migrate-start-postcopy (at the earliest: after the first pass)',
      choices: () => [500, 1500, 3000, 6000].map((ms) => ({ value: (c: LabChoices) => ({ ...c, postcopyAfterMs: ms }), label: `${(ms / 1000).toFixed(1)} s` })),
    });
  }
  return out;
}

function passTime(memoryMiB: number, bandwidth: number): string {
  return `a full pass over ${memoryMiB} MiB of guest RAM at ${parameterText('max-bandwidth', bandwidth)} takes about ${Math.max(0.1, (memoryMiB * MiB) / bandwidth).toFixed(1)} s`;
}

function summary(opts: readonly Option[], c: LabChoices): string {
  return opts.map((o) => `${o.name} ${o.current(c)}`).join(' · ');
}

type Row = vscode.QuickPickItem & { readonly run?: true; readonly option?: Option };

/**
 * Asks for the run's choices: the first row runs with what is shown (the scenario's defaults
 * until changed); each other row opens the values of one choice and comes back here.
 */
export async function pickLabOptions(scenario: LabScenario, qemuLabel: string): Promise<LabChoices | undefined> {
  const plan = scenarioPlan(scenario);
  const opts = options(plan);
  let chosen = defaults(plan);
  for (;;) {
    const rows: Row[] = [
      { label: '$(play) Run', description: `${qemuLabel} · ${summary(opts, chosen)}`, run: true },
      { label: 'change', kind: vscode.QuickPickItemKind.Separator },
      ...opts.map((o) => ({ label: `$(${o.icon}) ${o.name}: ${o.current(chosen)}`, detail: o.detail, option: o })),
    ];
    const picked = await vscode.window.showQuickPick(rows, { title: `Run Migration Lab: ${scenario}`, placeHolder: 'Enter runs with these settings; choose a row to change it', ignoreFocusOut: true });
    if (!picked) return undefined;
    if (picked.run || !picked.option) return chosen;
    const option = picked.option;
    const value = await vscode.window.showQuickPick(option.choices(chosen).map((ch) => ({ label: ch.label, ...(ch.detail ? { detail: ch.detail } : {}), description: ch.label === option.current(chosen) ? 'current' : '', ch })), { title: `${scenario}: ${option.name}`, placeHolder: option.detail });
    if (value) chosen = value.ch.value(chosen);
  }
}
