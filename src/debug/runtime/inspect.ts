/**
 * What the debugger shows of one QEMU and lets the user change: the scopes and their rows,
 * capability and parameter edits (checked against the schema and the workbench's pitfall checks),
 * and console commands with their completions.
 */
import { setCapabilities, setParameters } from '../../core/migration/actions';
import { checkPair, checkSide, type SideConfig } from '../../core/monitor/checks';
import { parseParameterValue } from '../../core/monitor/features';
import { isObject } from '../../core/qmp/messages';
import type { QmpReplies } from '../../core/qmp/replies';
import type { SideName } from '../config';
import { completeConsole, hmpCommandsFromHelp, parseConsoleInput, type Completion } from './console';
import type { Side } from './side';
import { capabilityRows, migrationRows, otherSide, parameterRows, type VarRow } from './variables';

export type ScopeKind = 'migration' | 'capabilities' | 'parameters' | 'vhost' | 'threads';

export interface ScopeInfo {
  kind: ScopeKind;
  name: string;
}

export function scopesOf(side: Side): ScopeInfo[] {
  const out: ScopeInfo[] = [
    { kind: 'migration', name: 'Migration' },
    { kind: 'capabilities', name: 'Capabilities' },
    { kind: 'parameters', name: 'Parameters' },
  ];
  if (side.monitor.schema.hasCommand('x-query-virtio-status')) out.push({ kind: 'vhost', name: 'vhost-user devices' });
  out.push({ kind: 'threads', name: 'Threads' });
  return out;
}

/** Both replies' shapes are checked by the QMP client (core/qmp/replies). */
async function capabilitiesOf(s: Side): Promise<Record<string, boolean>> {
  const list = await s.monitor.execute<QmpReplies['query-migrate-capabilities']>('query-migrate-capabilities');
  const caps = Object.fromEntries(list.map((c) => [c.capability, c.state]));
  s.monitor.capabilities = caps;
  return caps;
}

async function parametersOf(s: Side): Promise<Record<string, unknown>> {
  const p = await s.monitor.execute<QmpReplies['query-migrate-parameters']>('query-migrate-parameters');
  s.monitor.parameters = p;
  return p;
}

/** Feature bit 30, offered only by a vhost-user back-end (QEMU decodes it by this name). */
const vhostUserFeature = 'VHOST_USER_F_PROTOCOL_FEATURES';

function offersVhostUser(features: unknown): boolean {
  if (!isObject(features) || !Array.isArray(features['dev-features'])) return false;
  return features['dev-features'].some((f) => typeof f === 'string' && f.startsWith(vhostUserFeature));
}

/**
 * What an x-query-virtio-status reply says of the device's vhost back-end, or undefined without
 * one. QEMU reports `vhost-dev` only while the back-end is started (the guest's driver set
 * DRIVER_OK and the VM runs); before that, and on a destination waiting for its migration, a
 * vhost-user back-end shows in the device's back-end features.
 */
export function vhostState(status: Record<string, unknown>): string | undefined {
  const dev = status['vhost-dev'];
  const user = offersVhostUser(status['backend-features']) || (isObject(dev) && offersVhostUser(dev['features']));
  if (isObject(dev) && status['vhost-started'] === true) return `${user ? 'vhost-user' : 'vhost'}, started`;
  if (!user) return undefined;
  return 'vhost-user, not started (QEMU starts the back-end once the guest\'s driver has set DRIVER_OK and the VM runs)';
}

async function vhostRows(s: Side): Promise<VarRow[]> {
  let devices: QmpReplies['x-query-virtio'];
  try {
    devices = await s.monitor.execute<QmpReplies['x-query-virtio']>('x-query-virtio');
  } catch (e) {
    return [{ name: 'devices', value: e instanceof Error ? e.message.replace(/^x-query-virtio: /, '') : String(e) }];
  }
  const rows: VarRow[] = [];
  for (const { path, name } of devices) {
    const status = await s.monitor.execute<QmpReplies['x-query-virtio-status']>('x-query-virtio-status', { path }).catch(() => undefined);
    if (status === undefined) continue;
    const value = vhostState(status);
    if (value === undefined) continue;
    rows.push({ name: `${name} ${path}`, value, children: status });
  }
  if (rows.length === 0) rows.push({ name: 'devices', value: `none with a vhost back-end (${devices.length} virtio device(s))` });
  return rows;
}

function threadRows(s: Side): VarRow[] {
  const rows: VarRow[] = s.threads.map((t) => ({ name: t.name, value: `${t.kind === 'vcpu' ? 'vCPU' : 'migration'}, tid ${t.tid ?? '?'}`, type: t.kind }));
  if (s.pid !== undefined) rows.unshift({ name: 'pid', value: String(s.pid) });
  if (s.threadsNote) rows.push({ name: 'note', value: s.threadsNote });
  return rows;
}

/** The rows of one scope, read from QEMU now (both sides for the ones that compare). */
export async function scopeRows(side: Side, other: Side | undefined, kind: ScopeKind): Promise<VarRow[]> {
  const o = otherSide(side.name);
  switch (kind) {
    case 'migration': {
      return migrationRows(await side.monitor.execute<QmpReplies['query-migrate']>('query-migrate'));
    }
    case 'capabilities': {
      const [mine, theirs] = await Promise.all([capabilitiesOf(side), other ? capabilitiesOf(other).catch(() => undefined) : undefined]);
      return capabilityRows(mine, theirs, o);
    }
    case 'parameters': {
      const [mine, theirs] = await Promise.all([parametersOf(side), other ? parametersOf(other).catch(() => undefined) : undefined]);
      return parameterRows(mine, theirs, o);
    }
    case 'vhost':
      return vhostRows(side);
    case 'threads':
      await side.refreshThreads().catch(() => undefined);
      return threadRows(side);
  }
}

/** What the user typed into a value cell, without the "≠ other side" note the cell showed. */
export function editedText(text: string): string {
  return text.split('  ≠ ')[0]?.trim() ?? '';
}

/**
 * Sets one capability or parameter after checking it against this QEMU's schema and the
 * workbench's checks: errors on the side itself refuse the change, differences with the other
 * side are reported. Returns the new value as QEMU reports it.
 */
export async function setValue(side: Side, other: Side | undefined, kind: 'capabilities' | 'parameters', name: string, text: string, say: (line: string) => void): Promise<string> {
  const m = side.monitor;
  const typed = editedText(text);
  const [caps, params] = await Promise.all([capabilitiesOf(side), parametersOf(side)]);
  const next: SideConfig = { capabilities: { ...caps }, parameters: { ...params } };
  let send: () => Promise<void>;
  if (kind === 'capabilities') {
    if (!m.features.capabilities.includes(name)) throw new Error(`this QEMU (${m.version}) has no migration capability '${name}'`);
    const on = ['on', 'true', 'yes', '1'].includes(typed) ? true : ['off', 'false', 'no', '0'].includes(typed) ? false : undefined;
    if (on === undefined) throw new Error(`capability ${name} is on or off, not '${typed}'`);
    next.capabilities = { ...next.capabilities, [name]: on };
    send = () => setCapabilities(m, { [name]: on });
  } else {
    const spec = m.features.parameters.find((p) => p.name === name);
    if (!spec) throw new Error(`this QEMU (${m.version}) has no settable migration parameter '${name}'`);
    const parsed = parseParameterValue(spec, typed.replace(/^"(.*)"$/, '$1').replace(/ \(.*\)$/, '').replace(/ ms$/, ''));
    if (!parsed.ok) throw new Error(parsed.message);
    next.parameters = { ...next.parameters, [name]: parsed.value };
    send = () => setParameters(m, { [name]: parsed.value });
  }
  const errors = checkSide(m.role, next, m.runState?.status, m.status, m.memdevs).filter((w) => w.severity === 'error');
  if (errors.length > 0) throw new Error(`not set: ${errors.map((w) => w.message).join('; ')}`);
  for (const w of checkSide(m.role, next, m.runState?.status, m.status, m.memdevs)) if (w.severity !== 'error') say(`${side.name}: ${w.severity === 'info' ? 'note' : 'warning'}: ${w.message}`);
  await send();
  if (other) {
    const theirs: SideConfig = { capabilities: await capabilitiesOf(other).catch(() => ({})), parameters: await parametersOf(other).catch(() => ({})) };
    const [src, dst] = side.name === 'source' ? [next, theirs] : [theirs, next];
    for (const w of checkPair(src, dst)) if (w.id.endsWith(name)) say(`${w.severity}: ${w.message} (set it on the ${other.name} too)`);
  }
  if (kind === 'capabilities') return capabilityRows(await capabilitiesOf(side), undefined, otherSide(side.name)).find((r) => r.name === name)?.value ?? typed;
  return parameterRows(await parametersOf(side), undefined, otherSide(side.name)).find((r) => r.name === name)?.value ?? typed;
}

export interface EvaluateResult {
  side: SideName;
  text: string;
  /** A structured reply to expand. */
  value?: unknown;
}

/** Runs a console line on the side it names, or on `fallback`. */
export async function evaluateConsole(sides: (name: SideName) => Side, fallback: SideName, line: string): Promise<EvaluateResult> {
  const input = parseConsoleInput(line);
  const side = sides(input.side ?? fallback);
  if (input.kind === 'hmp') {
    const out = await side.monitor.client.hmp(input.line);
    return { side: side.name, text: out.trimEnd() === '' ? '(no output)' : out.trimEnd() };
  }
  const reply = await side.monitor.execute(input.command, input.args);
  const nested = typeof reply === 'object' && reply !== null;
  const json = JSON.stringify(reply) ?? 'null';
  const text = json.length <= 160 ? json : `${json.slice(0, 157)}…`;
  return nested ? { side: side.name, text, value: reply } : { side: side.name, text };
}

export async function consoleCompletions(side: Side, text: string, column: number): Promise<Completion[]> {
  const schema = side.monitor.schema;
  const wantsHmp = text.trimStart().replace(/^@\w+\s+/, '').startsWith('!');
  const hmp = wantsHmp ? hmpCommandsFromHelp(await side.hmpHelpText()) : [];
  return completeConsole(text, column, {
    commands: schema.commands,
    argsOf: (c) => (schema.commandArgs(c) ?? []).map((a) => a.name),
    hmpCommands: hmp,
  });
}
