/**
 * The `qemu-migration` debug session: Debug Adapter Protocol requests translated into calls of
 * the MigrationRuntime, and its events into protocol events. Each QEMU's threads stop and
 * continue together; a frame per thread carries that QEMU's scopes.
 */
import {
  ContinuedEvent, DebugSession, InitializedEvent, OutputEvent, Scope, Source, StackFrame, StoppedEvent, TerminatedEvent, Thread, ThreadEvent,
} from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseSessionConfig, sideNames, type SideName } from './config';
import { consoleCompletions, evaluateConsole, scopeRows, scopesOf, setValue, type ScopeKind } from './runtime/inspect';
import type { MonitorSource } from './runtime/monitors';
import { MigrationRuntime, describeError, type RuntimeEvent } from './runtime/runtime';
import { isStateFilterId, stateFilters, type StateFilterId } from './runtime/stateBreakpoints';
import { ThreadIds } from './runtime/threads';
import { jsonRows, type VarRow } from './runtime/variables';

/** A request argument the protocol requires, checked (clients are not always right). */
function need<T>(value: T | undefined, what: string, check: (v: unknown) => boolean): T {
  if (value === undefined || !check(value)) throw new Error(`the request has no valid ${what}`);
  return value;
}
const isNum = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v);
const isStr = (v: unknown): boolean => typeof v === 'string';
const isList = (v: unknown): boolean => Array.isArray(v);

interface TraceSpec {
  id: number;
  pattern: string;
  stop: boolean;
  problem?: string;
}

/** The event a `trace-events` line declares (`multifd_send(uint8_t id, ...) "..."`, possibly after `disable`). */
export function traceEventOnLine(line: string): string | undefined {
  return /^\s*(?:disable\s+)?([A-Za-z_][A-Za-z0-9_]*)\(/.exec(line)?.[1];
}

type VarContainer = { kind: 'scope'; side: SideName; scope: ScopeKind } | { kind: 'json'; value: unknown };

/** Capabilities the adapter announces; exported for the tests and the package's contributions. */
export const adapterCapabilities: DebugProtocol.Capabilities = {
  supportsConfigurationDoneRequest: true,
  supportsFunctionBreakpoints: true,
  supportsConditionalBreakpoints: true,
  supportsSetVariable: true,
  supportsCompletionsRequest: true,
  completionTriggerCharacters: ['"', '!', '-'],
  supportsTerminateRequest: true,
  supportTerminateDebuggee: true,
  supportsExceptionInfoRequest: true,
  supportsEvaluateForHovers: false,
  exceptionBreakpointFilters: stateFilters.map((f) => ({ filter: f.id, label: f.label, description: f.description, default: f.default })),
};

/**
 * Variable references. They stay valid across stops (a client may still expand an older reply);
 * the oldest are dropped beyond a bound, so a long session does not grow without limit.
 */
class Containers {
  private readonly map = new Map<number, VarContainer>();
  private next = 1000;
  constructor(private readonly limit = 20_000) {}

  create(c: VarContainer): number {
    const id = this.next++;
    this.map.set(id, c);
    if (this.map.size > this.limit) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    return id;
  }

  get(id: number): VarContainer | undefined {
    return this.map.get(id);
  }
}

export class MigrationDebugSession extends DebugSession {
  private runtime: MigrationRuntime | undefined;
  private readonly threadIds = new ThreadIds();
  /** Thread ids of each side as last listed. */
  private readonly sideThreads = new Map<SideName, number[]>();
  private readonly containers = new Containers();
  private readonly traceIds = new Map<string, number>();
  private nextTraceId = 1;
  private functionSpecs: TraceSpec[] = [];
  private readonly sourceSpecs = new Map<string, TraceSpec[]>();
  private readonly sources = new Map<number, string>();
  private readonly frames = new Map<number, SideName>();
  private nextFrame = 1;
  /** The stop each side is shown in, for threads that appear while it lasts. */
  private readonly lastStop = new Map<SideName, Extract<RuntimeEvent, { kind: 'stopped' }>>();
  private nextSource = 1;
  private columnsFrom1 = true;
  private ended = false;
  /** A terminate or disconnect request came: requests failing from now on are not shown to the user. */
  private ending = false;
  private events: Promise<void> = Promise.resolve();

  constructor(private readonly monitors: MonitorSource) {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
  }

  private fail(response: DebugProtocol.Response, e: unknown, id = 2001): void {
    // `_message`: the library keeps only variables named with a leading underscore in `message`.
    // A request that races the session's end (VS Code refreshing the scopes of a QEMU being
    // quit) fails without a notification: the session ends, nothing went wrong.
    this.sendErrorResponse(response, { id, format: '{_message}', variables: { _message: describeError(e) }, showUser: !this.ending });
  }

  private async answer<R extends DebugProtocol.Response>(response: R, work: () => Promise<void>): Promise<void> {
    try {
      await work();
      this.sendResponse(response);
    } catch (e) {
      this.fail(response, e);
    }
  }

  private rt(): MigrationRuntime {
    if (!this.runtime) throw new Error('not attached to any QEMU yet');
    return this.runtime;
  }

  // ------------------------------------------------------------------ start

  protected override initializeRequest(response: DebugProtocol.InitializeResponse, args: DebugProtocol.InitializeRequestArguments): void {
    this.columnsFrom1 = args?.columnsStartAt1 !== false;
    response.body = { ...adapterCapabilities };
    this.sendResponse(response);
  }

  protected override attachRequest(response: DebugProtocol.AttachResponse, args: DebugProtocol.AttachRequestArguments): void {
    void this.connectRuntime(response, 'attach', args);
  }

  protected override launchRequest(response: DebugProtocol.LaunchResponse, args: DebugProtocol.LaunchRequestArguments): void {
    void this.connectRuntime(response, 'launch', args);
  }

  private async connectRuntime(response: DebugProtocol.Response, request: 'attach' | 'launch', args: unknown): Promise<void> {
    try {
      const config = parseSessionConfig(request, args);
      this.runtime = await MigrationRuntime.start(config, this.monitors, (e) => this.enqueue(e));
      this.sendEvent(new InitializedEvent());
      this.sendResponse(response);
    } catch (e) {
      this.fail(response, e, 1001);
    }
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    void this.answer(response, () => this.rt().configurationDone());
  }

  // ------------------------------------------------------------------ breakpoints

  protected override setExceptionBreakPointsRequest(response: DebugProtocol.SetExceptionBreakpointsResponse, args: DebugProtocol.SetExceptionBreakpointsArguments): void {
    void this.answer(response, async () => {
      const filters = need(args?.filters, 'filters', isList).filter((f): f is string => typeof f === 'string');
      const ids = [...filters, ...(Array.isArray(args.filterOptions) ? args.filterOptions : []).map((o) => o.filterId)];
      const known = [...new Set(ids)].filter(isStateFilterId) as StateFilterId[];
      const results = await this.rt().setStateFilters(known);
      response.body = { breakpoints: results.map((r) => ({ verified: r.verified, ...(r.message ? { message: r.message } : {}) })) };
    });
  }

  /** Trace-event breakpoints: from the Breakpoints view (function) and from lines of `trace-events` files (source). */
  private traceSpec(key: string, pattern: string, condition: string | undefined): TraceSpec {
    let id = this.traceIds.get(key);
    if (id === undefined) {
      id = this.nextTraceId++;
      this.traceIds.set(key, id);
    }
    const c = condition?.trim() ?? '';
    return { id, pattern, stop: c === 'stop', ...(c !== '' && c !== 'stop' ? { problem: 'the only condition a trace-event breakpoint takes is "stop" (stop the guest after a hit)' } : {}) };
  }

  /** Sends every trace breakpoint to the runtime; answers for those of one request. */
  private async applyTrace(mine: readonly TraceSpec[]): Promise<DebugProtocol.Breakpoint[]> {
    const all = [...this.functionSpecs, ...[...this.sourceSpecs.values()].flat()].filter((x) => x.problem === undefined);
    const results = await this.rt().setTraceBreakpoints(all);
    const byId = new Map(all.map((x, i) => [x.id, results[i]]));
    return mine.map((x) => {
      const r = x.problem === undefined ? byId.get(x.id) : { verified: false, message: x.problem };
      return { id: x.id, verified: r?.verified ?? false, ...(r?.message ? { message: r.message } : {}) };
    });
  }

  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    void this.answer(response, async () => {
      const list = need(args?.breakpoints, 'breakpoints', isList).filter((b) => typeof b?.name === 'string');
      this.functionSpecs = list.map((b) => this.traceSpec(`fn:${b.name}`, b.name.trim(), b.condition));
      response.body = { breakpoints: await this.applyTrace(this.functionSpecs) };
    });
  }

  /** A line of a `trace-events` file declares an event: a breakpoint there is a breakpoint on that event. */
  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    void this.answer(response, async () => {
      const path = args?.source?.path;
      const wanted = Array.isArray(args?.breakpoints) ? args.breakpoints : [];
      if (typeof path !== 'string' || basename(path) !== 'trace-events') {
        response.body = {
          breakpoints: wanted.map(() => ({
            verified: false,
            message: 'A migration has no source lines: set breakpoints on lines of trace-events files, on migration states (Breakpoints view filters), or as function breakpoints naming trace events',
          })),
        };
        return;
      }
      const lines = (await readFile(path, 'utf8')).split('\n');
      const specs: TraceSpec[] = [];
      const out: DebugProtocol.Breakpoint[] = [];
      for (const b of wanted) {
        const event = traceEventOnLine(lines[b.line - 1] ?? '');
        if (event === undefined) {
          out.push({ verified: false, line: b.line, message: `line ${b.line} of ${path} declares no trace event` });
          continue;
        }
        const spec = this.traceSpec(`src:${path}:${event}`, event, b.condition);
        specs.push(spec);
        out.push({ id: spec.id, verified: false, line: b.line });
      }
      this.sourceSpecs.set(path, specs);
      const results = await this.applyTrace(specs);
      let k = 0;
      response.body = { breakpoints: out.map((o) => (o.id === undefined ? o : { ...o, ...results[k++], source: { path } })) };
    });
  }

  // ------------------------------------------------------------------ threads and frames

  private async listThreads(): Promise<DebugProtocol.Thread[]> {
    const list = await this.rt().threads();
    const bySide = new Map<SideName, number[]>();
    const out: DebugProtocol.Thread[] = [];
    for (const { side, thread } of list) {
      const id = this.threadIds.idFor(side, thread.key);
      bySide.set(side, [...(bySide.get(side) ?? []), id]);
      out.push(new Thread(id, `${side}: ${thread.name}${thread.tid !== undefined ? ` (tid ${thread.tid})` : ''}`));
    }
    for (const side of sideNames) {
      const before = this.sideThreads.get(side) ?? [];
      const now = bySide.get(side) ?? [];
      if (this.sideThreads.has(side)) {
        const stop = this.lastStop.get(side);
        for (const id of now) {
          if (before.includes(id)) continue;
          this.sendEvent(new ThreadEvent('started', id));
          // A thread that appears on a stopped QEMU is shown stopped with the others.
          if (stop) this.sendEvent(this.stoppedEvent(stop, id, true));
        }
        for (const id of before) if (!now.includes(id)) this.sendEvent(new ThreadEvent('exited', id));
      }
      if (this.rt().side(side)) this.sideThreads.set(side, now);
    }
    return out;
  }

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    void this.answer(response, async () => {
      response.body = { threads: this.runtime ? await this.listThreads() : [] };
    });
  }

  private sideOfFrame(frameId: number | undefined): SideName {
    const side = this.frames.get(need(frameId, 'frame id', isNum));
    if (!side) throw new Error(`no frame ${frameId}`);
    return side;
  }

  private sideOfThread(threadId: number | undefined): SideName {
    const o = this.threadIds.owner(need(threadId, 'thread or frame id', isNum));
    if (!o) throw new Error(`no thread ${threadId}`);
    return o.side;
  }

  protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): void {
    void this.answer(response, async () => {
      const side = this.sideOfThread(args?.threadId);
      const rt = this.rt();
      const s = rt.side(side);
      const shown = rt.shown(side);
      const run = s ? await s.runStateNow().catch(() => undefined) : undefined;
      const guest = run ? (run.running ? 'running' : run.status) : '?';
      const status = s ? `migration ${s.monitor.status}, guest ${guest}` : 'gone';
      const what = shown ? (shown.by === 'state' ? shown.hit.text.split(':')[0] : shown.description) : 'running';
      let source: Source | undefined;
      if (s && shown) {
        const text = await s.monitor.client.hmp('info migrate').catch((e: unknown) => describeError(e));
        const ref = this.nextSource++;
        this.sources.set(ref, `# ${side} QEMU ${s.monitor.version}: ${what}\n# ${status}\n\n${text}`);
        source = new Source(`${side} · info migrate`, undefined, ref, 'QMP human-monitor-command', 'qemu-migration');
      }
      // A new frame id per listing: a client keeps a frame's variables while its id stays the same.
      const frameId = this.nextFrame++;
      this.frames.set(frameId, side);
      if (this.frames.size > 10_000) this.frames.delete(this.frames.keys().next().value ?? frameId);
      const frame = new StackFrame(frameId, `${what} · ${status}`, source, source ? 1 : 0, source ? 1 : 0);
      if (!source) frame.presentationHint = 'subtle';
      response.body = { stackFrames: [frame], totalFrames: 1 };
    });
  }

  protected override sourceRequest(response: DebugProtocol.SourceResponse, args: DebugProtocol.SourceArguments): void {
    const text = this.sources.get(args?.sourceReference ?? args?.source?.sourceReference ?? -1);
    if (text === undefined) {
      this.fail(response, new Error('this snapshot of info migrate is no longer available'));
      return;
    }
    response.body = { content: text, mimeType: 'text/plain' };
    this.sendResponse(response);
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): void {
    void this.answer(response, async () => {
      const side = this.sideOfFrame(args?.frameId);
      const s = this.rt().sideOrThrow(side);
      response.body = {
        scopes: scopesOf(s).map((sc) => new Scope(`${sc.name} (${side})`, this.containers.create({ kind: 'scope', side, scope: sc.kind }), sc.kind === 'vhost')),
      };
    });
  }

  private toVariable(row: VarRow, parent: VarContainer): DebugProtocol.Variable {
    const ref = row.children !== undefined ? this.containers.create({ kind: 'json', value: row.children }) : 0;
    const v: DebugProtocol.Variable = { name: row.name, value: row.value, variablesReference: ref };
    if (row.type) v.type = row.type;
    if (parent.kind === 'scope' && row.editable) v.evaluateName = row.name;
    const attributes: DebugProtocol.VariablePresentationHint['attributes'] = [];
    if (!row.editable) attributes.push('readOnly');
    v.presentationHint = { kind: 'property', attributes };
    return v;
  }

  protected override variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): void {
    void this.answer(response, async () => {
      const c = this.containers.get(need(args?.variablesReference, 'variablesReference', isNum));
      if (!c) throw new Error('these variables are no longer available');
      let rows: VarRow[];
      if (c.kind === 'json') rows = jsonRows(c.value);
      else {
        const rt = this.rt();
        const s = rt.sideOrThrow(c.side);
        const other = rt.side(c.side === 'source' ? 'destination' : 'source');
        rows = await scopeRows(s, other, c.scope);
      }
      response.body = { variables: rows.map((r) => this.toVariable(r, c)) };
    });
  }

  protected override setVariableRequest(response: DebugProtocol.SetVariableResponse, args: DebugProtocol.SetVariableArguments): void {
    void this.answer(response, async () => {
      const c = this.containers.get(need(args?.variablesReference, 'variablesReference', isNum));
      if (!c || c.kind !== 'scope' || (c.scope !== 'capabilities' && c.scope !== 'parameters')) {
        throw new Error('only capabilities and parameters can be changed');
      }
      const rt = this.rt();
      const s = rt.sideOrThrow(c.side);
      const other = rt.side(c.side === 'source' ? 'destination' : 'source');
      const value = await setValue(s, other, c.scope, need(args.name, 'name', isStr), need(args.value, 'value', isStr), (line) => this.sendEvent(new OutputEvent(`${line}\n`, 'important')));
      response.body = { value };
    });
  }

  // ------------------------------------------------------------------ execution

  protected override pauseRequest(response: DebugProtocol.PauseResponse, args: DebugProtocol.PauseArguments): void {
    void this.answer(response, () => this.rt().pause(this.sideOfThread(args?.threadId)));
  }

  protected override continueRequest(response: DebugProtocol.ContinueResponse, args: DebugProtocol.ContinueArguments): void {
    void this.answer(response, async () => {
      await this.rt().continue(this.sideOfThread(args?.threadId));
      response.body = { allThreadsContinued: false };
    });
  }

  protected override exceptionInfoRequest(response: DebugProtocol.ExceptionInfoResponse, args: DebugProtocol.ExceptionInfoArguments): void {
    void this.answer(response, async () => {
      const side = this.sideOfThread(args?.threadId);
      const shown = this.rt().shown(side);
      if (shown?.by !== 'state') throw new Error(`the ${side} is not stopped on a migration state`);
      const label = stateFilters.find((f) => f.id === shown.hit.filter)?.label ?? shown.hit.filter;
      response.body = { exceptionId: label, description: shown.hit.text, breakMode: 'always', details: { message: shown.hit.text, typeName: `${side} migration state` } };
    });
  }

  // ------------------------------------------------------------------ console

  protected override evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): void {
    void this.answer(response, async () => {
      const rt = this.rt();
      const expression = need(args?.expression, 'expression', isStr);
      const fallback = args.frameId !== undefined ? this.sideOfFrame(args.frameId) : (rt.liveSides()[0]?.name ?? 'source');
      if (args.context === 'watch' && !/^(@\w+\s+)?(query-|!info )/.test(expression.trim())) {
        throw new Error('watch expressions run only query-* QMP commands and !info HMP commands');
      }
      const r = await evaluateConsole((n) => rt.sideOrThrow(n), fallback, expression);
      const ref = r.value !== undefined ? this.containers.create({ kind: 'json', value: r.value }) : 0;
      response.body = { result: r.text, variablesReference: ref };
    });
  }

  protected override completionsRequest(response: DebugProtocol.CompletionsResponse, args: DebugProtocol.CompletionsArguments): void {
    void this.answer(response, async () => {
      const rt = this.rt();
      const text = need(args?.text, 'text', isStr);
      const side = rt.side(args.frameId !== undefined ? this.sideOfFrame(args.frameId) : 'source') ?? rt.liveSides()[0];
      const column = need(args.column, 'column', isNum) - (this.columnsFrom1 ? 1 : 0);
      const items = side ? await consoleCompletions(side, text, column) : [];
      const base = this.columnsFrom1 ? 1 : 0;
      response.body = { targets: items.map((i) => ({ label: i.label, start: i.start + base, length: i.length, type: i.type })) };
    });
  }

  // ------------------------------------------------------------------ ending

  protected override disconnectRequest(response: DebugProtocol.DisconnectResponse, args: DebugProtocol.DisconnectArguments): void {
    this.ending = true;
    void (async () => {
      const rt = this.runtime;
      const terminate = typeof args?.terminateDebuggee === 'boolean' ? args.terminateDebuggee : rt?.config.request === 'launch';
      await rt?.shutdown({ terminate }).catch(() => undefined);
      this.sendResponse(response);
    })();
  }

  protected override terminateRequest(response: DebugProtocol.TerminateResponse): void {
    this.ending = true;
    void (async () => {
      await this.runtime?.shutdown({ terminate: true }).catch(() => undefined);
      this.sendResponse(response);
      this.end();
    })();
  }

  /**
   * Ends the session from the host (the extension deactivating or the window reloading): what a
   * launch started is ended, an attach lets go of its QEMUs as a disconnect does.
   */
  async endFromHost(): Promise<void> {
    const rt = this.runtime;
    await rt?.shutdown({ terminate: rt.config.request === 'launch' }).catch(() => undefined);
    this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.sendEvent(new TerminatedEvent());
  }

  // ------------------------------------------------------------------ runtime events

  /** Runtime events are turned into protocol events one at a time, in the order they came. */
  private enqueue(e: RuntimeEvent): void {
    this.events = this.events.then(() => this.onRuntimeEvent(e)).catch(() => undefined);
  }

  private async onRuntimeEvent(e: RuntimeEvent): Promise<void> {
    switch (e.kind) {
      case 'output':
        this.sendEvent(new OutputEvent(e.text, e.category));
        return;
      case 'stopped': {
        this.lastStop.delete(e.side);
        const ids = await this.threadsOf(e.side);
        this.lastStop.set(e.side, e);
        ids.forEach((id, i) => this.sendEvent(this.stoppedEvent(e, id, i > 0)));
        return;
      }
      case 'continued':
        this.lastStop.delete(e.side);
        for (const id of this.sideThreads.get(e.side) ?? []) this.sendEvent(new ContinuedEvent(id, false));
        return;
      case 'threadsChanged':
        if (this.sideThreads.has(e.side)) await this.listThreads().catch(() => undefined);
        return;
      case 'sideEnded':
        for (const id of this.sideThreads.get(e.side) ?? []) this.sendEvent(new ThreadEvent('exited', id));
        this.sideThreads.delete(e.side);
        return;
      case 'ended':
        this.sendEvent(new OutputEvent(`Session ended: ${e.reason}\n`, 'important'));
        await this.runtime?.shutdown({ terminate: false }).catch(() => undefined);
        this.end();
        return;
    }
  }

  private stoppedEvent(e: Extract<RuntimeEvent, { kind: 'stopped' }>, id: number, preserveFocus: boolean): DebugProtocol.StoppedEvent {
    const ev = new StoppedEvent(e.reason, id, e.text) as DebugProtocol.StoppedEvent;
    ev.body.description = e.description;
    ev.body.allThreadsStopped = false;
    if (preserveFocus) ev.body.preserveFocusHint = true;
    if (e.breakpointIds) ev.body.hitBreakpointIds = e.breakpointIds;
    return ev;
  }

  /** The side's thread ids, listed now (migration threads come and go). */
  private async threadsOf(side: SideName): Promise<number[]> {
    await this.listThreads().catch(() => undefined);
    return this.sideThreads.get(side) ?? [];
  }
}
