/**
 * TEST DOUBLE — a scripted QMP server, not QEMU. It listens on a real unix socket in a private
 * temporary directory and lets a test decide byte by byte what a QMP peer sends: greetings,
 * replies out of order, split or merged reads, garbage, endless lines, abrupt closes. Behaviour
 * against real QEMU is covered by test/integration/qmp.test.ts.
 */
import * as net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkUnixSocketPath } from '../socketPath';

export type JsonObject = Record<string, unknown>;

export interface ScriptedPeerOptions {
  /** Greeting object, raw text (sent as is, newline included by the caller), or null for none. */
  greeting?: JsonObject | string | null;
  /** Capabilities in the default greeting. Default ['oob']. */
  capabilities?: string[];
  /** Answer qmp_capabilities with `{}` automatically. Default true. */
  autoNegotiate?: boolean;
  /** Line terminator for messages sent with send(). Default '\n'. */
  eol?: string;
}

export function defaultGreeting(capabilities: string[] = ['oob']): JsonObject {
  return {
    QMP: { version: { qemu: { micro: 0, minor: 2, major: 7 }, package: 'scripted-peer' }, capabilities },
  };
}

/** One client connection as seen by the scripted peer. */
export class PeerConnection {
  /** Every command received, in order (including qmp_capabilities). */
  readonly received: JsonObject[] = [];
  private queue: JsonObject[] = [];
  private waiters: Array<(c: JsonObject) => void> = [];
  private buffer = '';
  readonly closed: Promise<void>;
  private isClosed = false;

  constructor(readonly socket: net.Socket, private readonly opts: Required<Pick<ScriptedPeerOptions, 'autoNegotiate' | 'eol'>>) {
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => this.onText(text));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        resolve();
      }),
    );
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  private onText(text: string): void {
    this.buffer += text;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      const cmd = JSON.parse(line) as JsonObject;
      this.received.push(cmd);
      if (this.opts.autoNegotiate && cmd['execute'] === 'qmp_capabilities') {
        this.reply(cmd, {});
        continue;
      }
      const w = this.waiters.shift();
      if (w) w(cmd);
      else this.queue.push(cmd);
    }
  }

  /** The next command not yet consumed (qmp_capabilities excluded when auto-negotiating). */
  nextCommand(): Promise<JsonObject> {
    const c = this.queue.shift();
    if (c) return Promise.resolve(c);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async nextCommands(n: number): Promise<JsonObject[]> {
    const out: JsonObject[] = [];
    for (let i = 0; i < n; i++) out.push(await this.nextCommand());
    return out;
  }

  send(message: JsonObject): void {
    this.socket.write(JSON.stringify(message) + this.opts.eol);
  }

  sendRaw(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  reply(cmd: JsonObject, value: unknown): void {
    this.send('id' in cmd ? { return: value, id: cmd['id'] } : { return: value });
  }

  error(cmd: JsonObject, errorClass: string, desc: string): void {
    const error = { class: errorClass, desc };
    this.send('id' in cmd ? { error, id: cmd['id'] } : { error });
  }

  event(name: string, data?: JsonObject, timestamp = { seconds: 1700000000, microseconds: 123456 }): void {
    this.send(data === undefined ? { event: name, timestamp } : { event: name, data, timestamp });
  }

  /** Half-closes (FIN) and waits for the socket to close. */
  async end(): Promise<void> {
    this.socket.end();
    await this.closed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export class ScriptedQmpPeer {
  readonly connections: PeerConnection[] = [];
  private connWaiters: Array<(c: PeerConnection) => void> = [];

  private constructor(
    readonly dir: string,
    readonly path: string,
    private readonly server: net.Server,
    private readonly opts: ScriptedPeerOptions,
  ) {}

  static async start(opts: ScriptedPeerOptions = {}): Promise<ScriptedQmpPeer> {
    const dir = mkdtempSync(join(tmpdir(), 'qmig-qmp-peer-'));
    const path = join(dir, 'qmp.sock');
    checkUnixSocketPath(path, 'scripted peer socket');
    const server = net.createServer();
    const peer = new ScriptedQmpPeer(dir, path, server, opts);
    server.on('connection', (s) => peer.onConnection(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    return peer;
  }

  private onConnection(socket: net.Socket): void {
    const conn = new PeerConnection(socket, {
      autoNegotiate: this.opts.autoNegotiate ?? true,
      eol: this.opts.eol ?? '\n',
    });
    this.connections.push(conn);
    const g = this.opts.greeting === undefined ? defaultGreeting(this.opts.capabilities) : this.opts.greeting;
    if (typeof g === 'string') socket.write(g);
    else if (g !== null) conn.send(g);
    const w = this.connWaiters.shift();
    if (w) w(conn);
  }

  /** The first connection not yet handed out by this method. */
  private handedOut = 0;
  nextConnection(): Promise<PeerConnection> {
    const c = this.connections[this.handedOut];
    if (c) {
      this.handedOut++;
      return Promise.resolve(c);
    }
    return new Promise((resolve) =>
      this.connWaiters.push((conn) => {
        this.handedOut++;
        resolve(conn);
      }),
    );
  }

  /** Closes every connection and the server, and removes the temporary directory. */
  async close(): Promise<void> {
    for (const c of this.connections) c.destroy();
    await Promise.all(this.connections.map((c) => c.closed));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
