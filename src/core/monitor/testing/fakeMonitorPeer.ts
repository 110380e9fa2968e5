/**
 * TEST DOUBLE — answers the commands the migration monitor sends, over the scripted QMP peer
 * (a real unix socket, not QEMU), from a small mutable state. Real QEMU is covered by
 * test/integration/qmpMonitor.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScriptedQmpPeer, type JsonObject, type PeerConnection } from '../../qmp/testing/scriptedPeer';

export const schema72: unknown = JSON.parse(readFileSync(join(__dirname, '..', '..', 'qmp', 'testdata', 'qemu-7.2.22-query-qmp-schema.json'), 'utf8'));

export interface FakeState {
  status: string;
  running: boolean;
  runState: string;
  capabilities: Record<string, boolean>;
  parameters: Record<string, unknown>;
  /** Successive `query-migrate` replies while the status is `active`; the last repeats. */
  progress: JsonObject[];
  jobs: JsonObject[];
  /** Commands answered with an error: command → description. */
  fail: Record<string, string>;
  /** Commands answered with this reply as it is, whatever its shape (a misbehaving QEMU). */
  replies: Record<string, unknown>;
  schema: unknown;
}

export function defaultState(): FakeState {
  return {
    status: 'none',
    running: true,
    runState: 'running',
    capabilities: { multifd: false, 'postcopy-ram': false, events: false, 'x-ignore-shared': false },
    parameters: { 'multifd-channels': 2, 'multifd-compression': 'none', 'max-bandwidth': 134217728 },
    progress: [],
    jobs: [],
    fail: {},
    replies: {},
    schema: schema72,
  };
}

function ram(transferred: number, remaining: number, passes: number): JsonObject {
  return {
    transferred, remaining, total: 512 << 20, duplicate: 10, normal: 5, 'normal-bytes': 20480, 'dirty-pages-rate': 100,
    mbps: 800, 'dirty-sync-count': passes, 'postcopy-requests': 0, 'page-size': 4096, 'multifd-bytes': 0, 'pages-per-second': 1000,
  };
}

export function progressReplies(steps: number): JsonObject[] {
  const out: JsonObject[] = [];
  for (let i = 1; i <= steps; i++) out.push({ status: 'active', ram: ram(i * 1000, (steps - i) * 1000, i) });
  return out;
}

/** A fake QEMU on one scripted peer; every connection is answered from the same state. */
/** A command the peer refuses as QEMU would, with QEMU's text. */
class FakeRefusal extends Error {}

export class FakeMonitorPeer {
  readonly state = defaultState();
  readonly commands: string[] = [];
  private progressIndex = 0;
  /** Completed after this many `query-migrate` replies in state active (when `progress` is empty). */
  completeAfterPolls = 3;
  private polls = 0;
  /** Replies to these commands wait until the release function of holdReplies is called. */
  private readonly held = new Map<string, Promise<void>>();

  private constructor(readonly peer: ScriptedQmpPeer) {}

  static async start(): Promise<FakeMonitorPeer> {
    const peer = await ScriptedQmpPeer.start();
    const f = new FakeMonitorPeer(peer);
    void f.acceptLoop();
    return f;
  }

  get path(): string {
    return this.peer.path;
  }

  private async acceptLoop(): Promise<void> {
    for (;;) {
      const c = await this.peer.nextConnection();
      void this.serve(c);
    }
  }

  private async serve(c: PeerConnection): Promise<void> {
    while (c.isOpen) {
      const cmd = await Promise.race([c.nextCommand(), c.closed.then(() => undefined)]);
      if (!cmd) return;
      const name = typeof cmd['execute'] === 'string' ? cmd['execute'] : String(cmd['exec-oob']);
      this.commands.push(name);
      await this.held.get(name);
      const failure = this.state.fail[name];
      if (failure !== undefined) {
        c.error(cmd, 'GenericError', failure);
        continue;
      }
      let answer: unknown;
      try {
        answer = this.answer(name, (cmd['arguments'] ?? {}) as JsonObject, c);
      } catch (e) {
        if (!(e instanceof FakeRefusal)) throw e;
        c.error(cmd, 'GenericError', e.message);
        continue;
      }
      c.reply(cmd, answer);
    }
  }

  private answer(name: string, args: JsonObject, c: PeerConnection): unknown {
    const s = this.state;
    if (name in s.replies) return s.replies[name];
    switch (name) {
      case 'query-qmp-schema':
        return s.schema;
      case 'query-status':
        return { running: s.running, status: s.runState, singlestep: false };
      case 'query-migrate-capabilities':
        return Object.entries(s.capabilities).map(([capability, state]) => ({ capability, state }));
      case 'query-migrate-parameters':
        return s.parameters;
      case 'migrate-set-capabilities':
        for (const e of args['capabilities'] as Array<{ capability: string; state: boolean }>) s.capabilities[e.capability] = e.state;
        return {};
      case 'migrate-set-parameters':
        Object.assign(s.parameters, args);
        return {};
      case 'migrate':
        s.status = 'active';
        this.polls = 0;
        c.event('MIGRATION', { status: 'active' });
        return {};
      case 'migrate-incoming':
        return {};
      case 'migrate_cancel':
        s.status = 'cancelled';
        return {};
      case 'migrate-pause':
        // As QEMU: only a postcopy-active migration pauses (shutting its stream).
        if (s.status !== 'postcopy-active') throw new FakeRefusal('migrate-pause is currently only supported during postcopy-active state');
        s.status = 'postcopy-paused';
        c.event('MIGRATION', { status: 'postcopy-paused' });
        return {};
      case 'query-migrate':
        return this.migrateReply(c);
      case 'query-jobs':
        return s.jobs;
      case 'query-memdev':
        return [];
      case 'query-migrationthreads':
        return s.status === 'active' ? [{ name: 'live_migration', 'thread-id': 100 }, { name: 'mig/src/send_0', 'thread-id': 101 }] : [];
      default:
        return {};
    }
  }

  private migrateReply(c: PeerConnection): JsonObject {
    const s = this.state;
    if (s.status !== 'active') return s.status === 'none' ? {} : { status: s.status, ram: ram(3000, 0, 3) };
    this.polls++;
    const p = s.progress[Math.min(this.progressIndex++, s.progress.length - 1)];
    if (s.progress.length === 0 && this.polls >= this.completeAfterPolls) {
      s.status = 'completed';
      c.event('MIGRATION', { status: 'completed' });
      return { status: 'completed', ram: ram(3000, 0, 3), 'total-time': 40, downtime: 5 };
    }
    return p ?? { status: 'active', ram: ram(this.polls * 1000, 1000, this.polls) };
  }

  /** Holds back the replies to `command` (the peer answers in order, so later ones wait too) until released. */
  holdReplies(command: string): () => void {
    let release = (): void => undefined;
    this.held.set(command, new Promise<void>((r) => (release = r)));
    return () => {
      this.held.delete(command);
      release();
    };
  }

  /** Drops every open connection (QEMU "restarting"); the server keeps listening. */
  dropConnections(): void {
    for (const c of this.peer.connections) c.destroy();
  }

  close(): Promise<void> {
    return this.peer.close();
  }
}
