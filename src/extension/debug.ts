/**
 * The `qemu-migration` debugger in the window: the session runs inline and shares the
 * Connections view's QMP connections (QEMU serves one client per socket), configurations are
 * offered from the sockets the view finds. In an untrusted workspace VS Code asks for trust before
 * any debug session starts (an attach too); should a launch reach the provider there all the same,
 * it is refused.
 */
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import type { ConnectionManager, ManagedConnection } from '../core/monitor/connectionManager';
import type { Role } from '../core/monitor/checks';
import { normalizeAddress, ownedLease, type MonitorLease, type MonitorSource } from '../debug/runtime/monitors';
import { MigrationDebugSession } from '../debug/session';
import { qemuBinary } from './config';
import type { WorkbenchContext } from './context';
import type { Scope } from './scope';
import { candidates, roleOf } from './qmp/connect';
import { qmpSession } from './qmp/index';
import { PreLaunchTasks } from './tasks/preLaunch';

const debugType = 'qemu-migration';

function waitConnected(c: ManagedConnection, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let off: () => void = () => undefined;
    const check = (): boolean => {
      if (c.state.kind === 'connected' && c.monitor) {
        clearTimeout(timer);
        off();
        resolve();
        return true;
      }
      if (c.state.kind === 'stopped') {
        clearTimeout(timer);
        off();
        reject(new Error(`the connection to ${c.spec.address} is stopped${c.state.error ? `: ${c.state.error}` : ''}`));
        return true;
      }
      return false;
    };
    const timer = setTimeout(() => {
      off();
      const why = c.state.kind === 'waiting' ? `: ${c.state.error}` : '';
      reject(new Error(`no QMP connection to ${c.spec.address} within ${timeoutMs} ms${why}`));
    }, timeoutMs);
    if (!check()) off = c.onChange(() => void check());
  });
}

/**
 * Monitors from the Connections view: a connection it already has is borrowed as it is;
 * another address is added to the view for the session (not saved) and removed after it.
 */
export class SharedMonitors implements MonitorSource {
  constructor(private readonly manager: ConnectionManager) {}

  async acquire(address: string, role: Role, label: string, timeoutMs: number): Promise<MonitorLease> {
    const wanted = normalizeAddress(address);
    const existing = this.manager.list().find((c) => {
      try {
        return normalizeAddress(c.spec.address) === wanted;
      } catch {
        return false;
      }
    });
    if (existing) {
      if (existing.state.kind !== 'connected') existing.start();
      await waitConnected(existing, timeoutMs);
      const monitor = existing.monitor;
      if (!monitor) throw new Error(`the connection to ${address} went away`);
      return { monitor, borrowed: true, release: async () => undefined };
    }
    const id = `debug-${randomUUID()}`;
    const c = this.manager.add({ id, label, role, address }, false);
    try {
      await waitConnected(c, timeoutMs);
    } catch (e) {
      await this.manager.remove(id);
      throw e;
    }
    const monitor = c.monitor;
    if (!monitor) throw new Error(`the connection to ${address} went away`);
    return ownedLease(monitor, () => this.manager.remove(id));
  }
}

/** Attach configurations for the sockets found: a source and a destination paired by their names, and each on its own. */
async function discoveredConfigurations(): Promise<vscode.DebugConfiguration[]> {
  const found = await candidates();
  const out: vscode.DebugConfiguration[] = [];
  const src = found.find((s) => roleOf(s) === 'source');
  const dst = found.find((s) => roleOf(s) === 'destination');
  if (src && dst) out.push({ type: debugType, request: 'attach', name: `Attach to migration (${src.origin})`, source: src.path, destination: dst.path });
  for (const s of found) {
    const role = roleOf(s) === 'destination' ? 'destination' : 'source';
    out.push({ type: debugType, request: 'attach', name: `Attach to ${s.path} as ${role}`, [role]: s.path });
  }
  return out;
}

const labLaunch: vscode.DebugConfiguration = {
  type: debugType,
  request: 'launch',
  name: 'Launch a lab pair and migrate',
  lab: { memoryMiB: 256 },
  migrate: { capabilities: { multifd: true }, parameters: { 'multifd-channels': 2 } },
};

class ConfigurationProvider implements vscode.DebugConfigurationProvider {
  constructor(private readonly preLaunch: PreLaunchTasks) {}

  async provideDebugConfigurations(): Promise<vscode.DebugConfiguration[]> {
    const found = await discoveredConfigurations();
    return found.length > 0 ? found.slice(0, 3) : [{ type: debugType, request: 'attach', name: 'Attach to a migration', source: '${workspaceFolder}/src.sock', destination: '${workspaceFolder}/dst.sock' }, labLaunch];
  }

  async resolveDebugConfiguration(_folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): Promise<vscode.DebugConfiguration | undefined> {
    if (!config.type && !config.request) {
      // F5 without a launch.json: pick one of the sockets found.
      const options = await discoveredConfigurations();
      if (options.length === 0) {
        void vscode.window.showInformationMessage('No QMP sockets found to attach to: start QEMU with -qmp unix:PATH,server=on,wait=off, or add a qemu-migration configuration to launch.json.');
        return undefined;
      }
      const pick = options.length === 1 ? options[0] : (await vscode.window.showQuickPick(options.map((o) => ({ label: String(o.name), config: o })), { title: 'Attach to QEMU migration' }))?.config;
      return pick;
    }
    if (config.request === 'launch') {
      if (!vscode.workspace.isTrusted) {
        void vscode.window.showErrorMessage('Launching QEMU needs a trusted workspace: attach to running QEMUs instead, or trust this workspace.');
        return undefined;
      }
      const lab: unknown = config['lab'];
      if (lab === true) config['lab'] = { qemu: qemuBinary() };
      else if (typeof lab === 'object' && lab !== null && !('qemu' in lab)) config['lab'] = { ...lab, qemu: qemuBinary() };
    }
    config['label'] ??= config.name;
    // VS Code runs the preLaunchTask next: the qemu-migration tasks it starts end with the session.
    if (config.request === 'launch' && typeof config['preLaunchTask'] === 'string' && config['lab'] === undefined) this.preLaunch.expect(config);
    return config;
  }
}

class InlineAdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  /** Sessions running inline; the extension's lifetime ends those still running. */
  private readonly live = new Set<MigrationDebugSession>();

  constructor(private readonly lifetime: Scope) {
    lifetime.onDispose(() => {
      for (const s of this.live) void lifetime.track(s.endFromHost());
      this.live.clear();
    });
  }

  createDebugAdapterDescriptor(): vscode.ProviderResult<vscode.DebugAdapterDescriptor> {
    const qmp = qmpSession();
    if (!qmp) throw new Error('the QMP feature did not start: see the QEMU Migration output');
    const session = new MigrationDebugSession(new SharedMonitors(qmp.manager));
    this.live.add(session);
    // The library's session implements VS Code's DebugAdapter interface (message in, event out);
    // VS Code disposes it when the debug session is over.
    const adapter = session as unknown as vscode.DebugAdapter;
    const dispose = adapter.dispose.bind(adapter);
    adapter.dispose = () => {
      this.live.delete(session);
      dispose();
    };
    return new vscode.DebugAdapterInlineImplementation(adapter);
  }
}

export function registerDebugFeatures(ctx: WorkbenchContext): void {
  const provider = new ConfigurationProvider(new PreLaunchTasks(ctx, debugType));
  ctx.subscriptions.push(
    vscode.debug.registerDebugAdapterDescriptorFactory(debugType, new InlineAdapterFactory(ctx.lifetime)),
    vscode.debug.registerDebugConfigurationProvider(debugType, provider),
    vscode.debug.registerDebugConfigurationProvider(debugType, { provideDebugConfigurations: () => discoveredConfigurations() }, vscode.DebugConfigurationProviderTriggerKind.Dynamic),
  );
}
