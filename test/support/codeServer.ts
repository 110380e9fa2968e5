// E2E harness: a private code-server with the built extension, driven by Playwright through
// Debian's Chromium. One Workbench per test file; close() ends every process and removes its folder.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { type CodeServerInstance, findCodeServer, quietSettings, startCodeServer } from '../../scripts/code-server-launch';

export const repoRoot = resolve(__dirname, '..', '..');
export const chromiumPath = process.env.QMW_CHROMIUM ?? '/usr/bin/chromium';
export const screenshotDir = join(repoRoot, 'test-output', 'screenshots');
export const logDir = join(repoRoot, 'test-output', 'logs');

const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function codeServerInstalled(): boolean {
  return findCodeServer() !== undefined;
}

export function chromiumInstalled(): boolean {
  return existsSync(chromiumPath);
}

export function extensionBuilt(): boolean {
  return existsSync(join(repoRoot, 'dist', 'extension.js'));
}

export interface WorkbenchOptions {
  /** User settings for this run (merged over the harness's quiet defaults). */
  readonly settings?: Record<string, unknown>;
  readonly viewport?: { width: number; height: number };
  /** Folder holding the built extension (package.json, dist/, media/); default: this repository. */
  readonly extensionRoot?: string;
  /** Keep workspace trust on (a folder opens untrusted until the prompt is answered). */
  readonly workspaceTrust?: boolean;
  /**
   * Workspace trust on and the folder opened untrusted, without the start-up prompt: the window
   * is in Restricted Mode until the user trusts it (what works in code-server 4.139: no
   * `--disable-workspace-trust`, `security.workspace.trust.startupPrompt: never`, a fresh user
   * data folder that trusts no folder yet).
   */
  readonly untrusted?: boolean;
}

/** The settings that keep a folder untrusted without asking when it opens. */
const untrustedSettings: Readonly<Record<string, unknown>> = {
  'security.workspace.trust.enabled': true,
  'security.workspace.trust.startupPrompt': 'never',
};

async function until<T>(what: string, timeoutMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const why = last instanceof Error ? `: ${last.message}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
}

export class Workbench {
  private constructor(
    readonly server: CodeServerInstance,
    private readonly browser: BrowserContext,
    readonly page: Page,
    readonly runDir: string,
  ) {}

  static async launch(opts: WorkbenchOptions = {}): Promise<Workbench> {
    const runDir = await mkdtemp(join(tmpdir(), 'qmw-e2e-'));
    let server: CodeServerInstance | undefined;
    try {
      server = await startCodeServer({
        runDir: join(runDir, 'server'),
        repoRoot: opts.extensionRoot ?? repoRoot,
        workspaceTrust: opts.untrusted === true || (opts.workspaceTrust ?? false),
        ...(opts.settings || opts.untrusted ? { settings: { ...(opts.untrusted ? untrustedSettings : {}), ...opts.settings } } : {}),
      });
      const browser = await chromium.launchPersistentContext(join(runDir, 'chromium'), {
        executablePath: chromiumPath,
        headless: true,
        args: chromiumArgs,
        viewport: opts.viewport ?? { width: 1400, height: 900 },
      });
      const page = browser.pages()[0] ?? (await browser.newPage());
      return new Workbench(server, browser, page, runDir);
    } catch (err) {
      await server?.stop();
      await rm(runDir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Replaces the user settings; the workbench picks the file change up while running. */
  async writeSettings(settings: Record<string, unknown>): Promise<void> {
    await writeFile(this.server.userSettingsFile, JSON.stringify({ ...quietSettings, ...settings }, null, 2));
  }

  async openWorkbench(folder: string): Promise<void> {
    await this.page.goto(this.server.workbenchUrl(folder));
    await this.page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
    // The workbench renders before its parts settle; the activity bar is the last thing a test needs.
    await this.page.locator('.activitybar').waitFor({ state: 'visible', timeout: 30_000 });
  }

  private quickInput(): Locator {
    return this.page.locator('.quick-input-widget input');
  }

  private quickInputRow(text: string): Locator {
    // Rows reuse their templates: a detail line hidden now may still hold an earlier pick's text, so only shown text counts.
    return this.page.locator('.quick-input-list .monaco-list-row').filter({ has: this.page.locator('.monaco-icon-label:visible', { hasText: text }) }).first();
  }

  /**
   * Runs a command by its palette title ("Category: Title"). Extension commands show up only
   * once the extension's contributions are registered, so the palette is reopened until they do.
   */
  async runCommand(title: string, timeoutMs = 60_000): Promise<void> {
    await until(`command "${title}" in the palette`, timeoutMs, async () => {
      await this.page.keyboard.press('Escape');
      await this.page.locator('.monaco-workbench').click({ position: { x: 5, y: 5 }, force: true }).catch(() => undefined);
      await this.page.keyboard.press('F1');
      await this.quickInput().waitFor({ state: 'visible', timeout: 5_000 });
      await this.quickInput().fill(`>${title}`);
      const row = this.quickInputRow(title);
      try {
        await row.waitFor({ state: 'visible', timeout: 3_000 });
      } catch {
        return undefined;
      }
      await row.click();
      return true;
    });
  }

  /** Drags the primary side bar's edge so tree rows and their descriptions fit in screenshots. */
  async setSideBarWidth(width: number): Promise<void> {
    const box = await this.page.locator('.part.sidebar').boundingBox();
    if (!box) throw new Error('the side bar is not visible');
    const y = box.y + box.height / 2;
    await this.page.mouse.move(box.x + box.width + 1, y);
    await this.page.mouse.down();
    await this.page.mouse.move(box.x + width, y, { steps: 5 });
    await this.page.mouse.up();
    // A pointer left on the sash keeps it highlighted in screenshots.
    await this.page.mouse.move(box.x + width + 200, y);
  }

  /**
   * F5 (Debug: Start Debugging) in the Run and Debug view until `shown` appears. The key goes to
   * the focused part, so the view's Watch header is focused first, and the key pressed again if
   * the page ate it.
   */
  async startDebugging(shown: Locator, timeoutMs: number): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      await this.page.locator('.pane-header', { hasText: 'Watch' }).first().click();
      await this.page.keyboard.press('F5');
      if (await shown.waitFor({ timeout: timeoutMs }).then(() => true, () => false)) return;
    }
    await shown.waitFor({ timeout: 30_000 });
  }

  /** Chooses the row containing `text` in an open QuickPick. */
  async pick(text: string, timeoutMs = 30_000): Promise<void> {
    const row = this.quickInputRow(text);
    await row.waitFor({ state: 'visible', timeout: timeoutMs });
    await row.click();
  }

  /**
   * Answers the questions a command asks one quick input after another: a step with a row whose
   * label is one of `answers` (a string matches the whole label, a RegExp part of it) gets that
   * row, any other step its default (Enter), until `done()` holds. Returns what each step offered
   * and what it got, for the test's diagnostics.
   */
  async answerQuickInputs(answers: readonly (string | RegExp)[], done: () => Promise<boolean>, timeoutMs = 120_000): Promise<string[]> {
    const widget = this.page.locator('.quick-input-widget');
    const rows = this.page.locator('.quick-input-list .monaco-list-row');
    const steps: string[] = [];
    // A row's label is its first label (a detail line is a label of its own).
    const rowLabels = async (): Promise<string[]> => {
      const out: string[] = [];
      for (const row of await rows.all()) out.push(await row.locator('.label-name').first().innerText({ timeout: 1_000 }).catch(() => ''));
      return out;
    };
    const signature = async (): Promise<string> => {
      const title = await widget.locator('.quick-input-title').innerText({ timeout: 1_000 }).catch(() => '');
      const placeholder = (await this.quickInput().getAttribute('placeholder', { timeout: 1_000 }).catch(() => null)) ?? '';
      return `${title} | ${placeholder} | ${(await rowLabels()).join(', ')}`;
    };
    await until('the command\'s questions to be answered', timeoutMs, async () => {
      if (await done()) return true;
      if (!(await widget.isVisible().catch(() => false))) return undefined;
      // The command palette that ran the command may still be closing: never answer it.
      if ((await this.quickInput().inputValue({ timeout: 1_000 }).catch(() => '')).startsWith('>')) return undefined;
      const before = await signature();
      const labels = await rowLabels();
      const index = labels.findIndex((l) => answers.some((a) => (typeof a === 'string' ? l.trim() === a : a.test(l))));
      if (index >= 0) {
        steps.push(`${before} → ${labels[index] ?? ''}`);
        await rows.nth(index).click();
      } else {
        steps.push(`${before} → default`);
        await this.quickInput().press('Enter');
      }
      // The step is over once the widget closes or shows the next question.
      await until('the quick input to move on', 15_000, async () => (!(await widget.isVisible().catch(() => false)) || (await signature()) !== before ? true : undefined));
      return undefined;
    }).catch((e: unknown) => {
      throw new Error(`${e instanceof Error ? e.message : String(e)}; questions so far: ${steps.join('; ') || 'none'}`);
    });
    return steps;
  }

  /** Texts of the notification toasts currently shown. */
  async notifications(): Promise<string[]> {
    return this.page.locator('.notifications-toasts .notification-list-item-message').allInnerTexts();
  }

  async waitForNotification(pattern: RegExp, timeoutMs = 60_000): Promise<string> {
    return until(`a notification matching ${String(pattern)}`, timeoutMs, async () => (await this.notifications()).find((n) => pattern.test(n)));
  }

  /** Shows a view container (by its activity bar title) in the primary side bar, `width` pixels wide when given. */
  async showViewContainer(title: string, width?: number): Promise<void> {
    const item = this.activityBarItem(title);
    await item.waitFor({ state: 'visible', timeout: 30_000 });
    await item.click();
    if (width !== undefined) await this.setSideBarWidth(width);
  }

  /** The activity bar entry of a view container, by its title. */
  activityBarItem(title: string): Locator {
    return this.page.locator('.activitybar .action-item a.action-label').and(this.page.locator(`[aria-label^="${title}"]`)).first();
  }

  /** The visible tree rows of a view pane, by the pane's title. */
  /**
   * Opens a collapsed tree row until `child` is visible under it. A click can land while the tree
   * redraws and be lost, so the row is clicked again while it says it is closed.
   */
  async expand(row: Locator, child: Locator, timeoutMs = 30_000): Promise<void> {
    await until('a tree row to open and show what is under it', timeoutMs, async () => {
      if (await child.isVisible()) return true;
      if ((await row.getAttribute('aria-expanded', { timeout: 2_000 })) !== 'true') await row.click({ timeout: 2_000 });
      await child.waitFor({ state: 'visible', timeout: 2_000 });
      return true;
    });
  }

  /** Closes an open tree row (to make room for the rows after it), clicking again if a click is lost. */
  async collapse(row: Locator, timeoutMs = 30_000): Promise<void> {
    await until('a tree row to close', timeoutMs, async () => {
      if ((await row.getAttribute('aria-expanded', { timeout: 2_000 })) === 'false') return true;
      await row.click({ timeout: 2_000 });
      return undefined;
    });
  }

  viewRows(viewTitle: string): Locator {
    return this.page
      .locator('.pane')
      .filter({ has: this.page.locator('.pane-header', { hasText: viewTitle }) })
      .locator('.monaco-list-row');
  }

  async screenshot(name: string): Promise<string> {
    await mkdir(screenshotDir, { recursive: true });
    const file = join(screenshotDir, `${name}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  async serverLog(): Promise<string> {
    return readFile(this.server.logFile, 'utf8').catch(() => '');
  }

  /** Text of the extension's "QEMU Migration" log channel as written so far (every extension host of this run). */
  extensionLog(): string {
    const logs = join(this.server.runDir, 'data', 'logs');
    const out: string[] = [];
    for (const session of existsSync(logs) ? readdirSync(logs).sort() : []) {
      for (const host of readdirSync(join(logs, session)).filter((n) => n.startsWith('exthost')).sort()) {
        const f = join(logs, session, host, 'qemu-migration-workbench.qemu-migration-workbench', 'QEMU Migration.log');
        if (existsSync(f)) out.push(readFileSync(f, 'utf8'));
      }
    }
    return out.join('');
  }

  /** Pid of the running extension host (a node process of code-server's group with --type=extensionHost). */
  extensionHostPid(): number | undefined {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
        if (pgid !== this.server.pid) continue;
        if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('--type=extensionHost')) return Number(name);
      } catch {
        // gone meanwhile
      }
    }
    return undefined;
  }

  /** Keeps code-server's log and the workbench logs (extension host, window) in test-output/logs/<name>. */
  async saveLogs(name: string): Promise<string> {
    const dest = join(logDir, name);
    await rm(dest, { recursive: true, force: true });
    await mkdir(dest, { recursive: true });
    await cp(this.server.logFile, join(dest, 'code-server.log')).catch(() => undefined);
    await cp(join(this.server.runDir, 'data', 'logs'), join(dest, 'workbench'), { recursive: true }).catch(() => undefined);
    return dest;
  }

  /** Closes the browser, ends code-server's process group and removes the run folder. */
  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    await this.server.stop();
    await rm(this.runDir, { recursive: true, force: true });
  }
}
