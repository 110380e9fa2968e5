// Foreground demo: code-server with the built extension on 127.0.0.1, opened on demo/.
// Run by scripts/demo.sh; Ctrl-C stops code-server's whole process group.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { cacheDir, startCodeServer } from './code-server-launch';

async function main(): Promise<void> {
  const repoRoot = resolve(__dirname, '..');
  const demo = join(repoRoot, 'demo');
  const folder = existsSync(demo) ? demo : repoRoot;
  const runDir = join(cacheDir(), 'demo-run');
  await rm(runDir, { recursive: true, force: true });

  const portText = process.env.QMW_DEMO_PORT;
  const server = await startCodeServer({ runDir, repoRoot, folder, ...(portText ? { port: Number(portText) } : {}) });
  let stopping = false;
  const shutdown = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`\n[demo] ${why}: stopping code-server (process group ${server.pid})`);
    await server.stop();
    await rm(runDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('interrupted'));
  process.on('SIGTERM', () => void shutdown('terminated'));
  process.on('SIGHUP', () => void shutdown('hung up'));
  void server.exited.then((code) => {
    if (!stopping) console.error(`[demo] code-server exited on its own (${String(code)}); log: ${server.logFile}`);
    void shutdown('code-server ended');
  });

  if (folder !== demo) console.log(`[demo] ${demo} does not exist yet; opening the repository instead`);
  console.log(`[demo] QEMU Migration Workbench in code-server (log: ${server.logFile})`);
  console.log(`[demo] open ${server.workbenchUrl(folder)}`);
  console.log('[demo] Ctrl-C stops it');
}

main().catch((err: unknown) => {
  console.error(`[demo] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
