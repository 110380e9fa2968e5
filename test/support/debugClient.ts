// A DebugClient on the stand-alone migration debug adapter (dist/debugAdapter.js, built by
// esbuild.mjs), with waits for events that match a condition and the console output collected.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';

export const adapterPath = join(resolve(__dirname, '..', '..'), 'dist', 'debugAdapter.js');

export function adapterBuilt(): boolean {
  return existsSync(adapterPath);
}

export class TestDebugClient {
  readonly dc = new DebugClient(process.execPath, adapterPath, 'qemu-migration', {}, true);
  readonly output: string[] = [];
  readonly events: DebugProtocol.Event[] = [];

  static async start(): Promise<TestDebugClient> {
    const c = new TestDebugClient();
    c.dc.defaultTimeout = 20_000;
    await c.dc.start();
    for (const type of ['stopped', 'continued', 'thread', 'terminated', 'output']) {
      c.dc.on(type, (e: DebugProtocol.Event) => {
        c.events.push(e);
        if (type === 'output') c.output.push(String((e as DebugProtocol.OutputEvent).body.output));
      });
    }
    await c.dc.initializeRequest({ adapterID: 'qemu-migration', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
    return c;
  }

  /** Resolves with the first event of `type` matching `pred`, counting those already received after `since`. */
  waitFor<E extends DebugProtocol.Event>(type: string, pred: (e: E) => boolean, timeoutMs = 30_000, since = 0): Promise<E> {
    const seen = this.events.slice(since).find((e) => e.event === type && pred(e as E));
    if (seen) return Promise.resolve(seen as E);
    return new Promise<E>((res, rej) => {
      const timer = setTimeout(() => {
        this.dc.removeListener(type, on);
        rej(new Error(`no ${type} event as expected within ${timeoutMs} ms; output so far:\n${this.output.join('')}`));
      }, timeoutMs);
      const on = (e: E): void => {
        if (!pred(e)) return;
        clearTimeout(timer);
        this.dc.removeListener(type, on);
        res(e);
      };
      this.dc.on(type, on);
    });
  }

  waitForOutput(re: RegExp, timeoutMs = 30_000): Promise<string> {
    return this.waitFor<DebugProtocol.OutputEvent>('output', (e) => re.test(e.body.output), timeoutMs).then((e) => e.body.output);
  }

  /** Attach (or launch) and wait for `initialized`. */
  async begin(request: 'attach' | 'launch', args: Record<string, unknown>): Promise<void> {
    const initialized = this.dc.waitForEvent('initialized');
    if (request === 'attach') await this.dc.attachRequest(args as DebugProtocol.AttachRequestArguments);
    else await this.dc.launchRequest(args as DebugProtocol.LaunchRequestArguments);
    await initialized;
  }

  async threads(): Promise<DebugProtocol.Thread[]> {
    return (await this.dc.threadsRequest()).body.threads;
  }

  /** The frame of thread `threadId` (one per thread). */
  async frame(threadId: number): Promise<number> {
    const f = (await this.dc.stackTraceRequest({ threadId })).body.stackFrames[0];
    if (!f) throw new Error(`thread ${threadId} has no frame`);
    return f.id;
  }

  /** Variables of a scope (by its name's start) of the frame of thread `threadId`. */
  async scope(threadId: number, name: string): Promise<DebugProtocol.Variable[]> {
    const scopes = (await this.dc.scopesRequest({ frameId: await this.frame(threadId) })).body.scopes;
    const s = scopes.find((x) => x.name.startsWith(name));
    if (!s) throw new Error(`no scope ${name}: ${scopes.map((x) => x.name).join(', ')}`);
    return (await this.dc.variablesRequest({ variablesReference: s.variablesReference })).body.variables;
  }

  async stop(): Promise<void> {
    await this.dc.stop().catch(() => undefined);
  }
}
