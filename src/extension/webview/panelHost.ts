import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import type { Checked } from '../../webview/shared/messages';

/**
 * Hosts one workbench webview (panel or custom editor) with the project's webview rules:
 * CSP `default-src 'none'`, the script allowed by nonce only, styles and images only from
 * the extension's own dist/ and media/, no remote content, state restored by the webview
 * itself through getState/setState (no retainContextWhenHidden).
 *
 * ToWebview / FromWebview are the view's two message unions, shared with its webview bundle.
 * Every message from the webview goes through the view's check first: a refused one is
 * logged and dropped, and a handler that throws is logged; neither reaches VS Code.
 */
export interface WebviewHost<ToWebview, FromWebview> extends vscode.Disposable {
  readonly webview: vscode.Webview;
  post(message: ToWebview): Thenable<boolean>;
  onMessage(handler: (message: FromWebview) => void): vscode.Disposable;
}

/** How a host checks what its webview sends, and where refused messages are reported. */
export interface WebviewChannel<FromWebview> {
  readonly check: (raw: unknown) => Checked<FromWebview>;
  readonly log: Pick<vscode.LogOutputChannel, 'warn' | 'error'>;
  /** Names the view in log lines, e.g. "migration view". */
  readonly name: string;
}

export interface WebviewContent {
  /** Bundle under dist/ built by esbuild.mjs, e.g. "migrationView.js". */
  readonly script: string;
  /** Optional stylesheet under dist/ or media/, e.g. "media/migrationView.css". */
  readonly stylesheet?: string;
  readonly title: string;
}

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    enableCommandUris: false,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

/** Builds the page: an empty body the bundle fills, under a nonce-based CSP. */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, content: WebviewContent): string {
  const nonce = randomBytes(18).toString('base64');
  const scriptUri = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', content.script));
  const styleUri = content.stylesheet ? webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, content.stylesheet)) : undefined;
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource}`,
    `img-src ${webview.cspSource} data: blob:`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
    // Workers are not used; connect-src stays closed: no network at all.
  ].join('; ');
  const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${styleUri ? `<link rel="stylesheet" href="${esc(styleUri.toString())}">` : ''}
<title>${esc(content.title)}</title>
</head>
<body>
<div id="root"></div>
<script nonce="${nonce}" src="${esc(scriptUri.toString())}"></script>
</body>
</html>`;
}

/** Wires a webview (from a panel or a custom editor) to typed messages. */
export function hostWebview<ToWebview, FromWebview>(
  webview: vscode.Webview,
  extensionUri: vscode.Uri,
  content: WebviewContent,
  channel: WebviewChannel<FromWebview>,
): WebviewHost<ToWebview, FromWebview> {
  webview.options = webviewOptions(extensionUri);
  webview.html = webviewHtml(webview, extensionUri, content);
  const disposables: vscode.Disposable[] = [];
  return {
    webview,
    post: (message) => webview.postMessage(message),
    onMessage(handler) {
      const d = webview.onDidReceiveMessage((raw: unknown) => {
        const m = channel.check(raw);
        if (!m.ok) { channel.log.warn(`${channel.name}: dropped a message from the webview: ${m.reason}`); return; }
        try {
          handler(m.value);
        } catch (e) {
          channel.log.error(`${channel.name}: handling ${JSON.stringify((m.value as { type?: unknown }).type)} failed: ${e instanceof Error ? e.message : String(e)}`);
        }
      });
      disposables.push(d);
      return d;
    },
    dispose() {
      for (const d of disposables.splice(0)) d.dispose();
    },
  };
}

/** Opens a new editor-area panel hosting the given bundle. */
export function openWebviewPanel<ToWebview, FromWebview>(
  extensionUri: vscode.Uri,
  viewType: string,
  content: WebviewContent,
  channel: WebviewChannel<FromWebview>,
  column: vscode.ViewColumn = vscode.ViewColumn.Active,
): { panel: vscode.WebviewPanel; host: WebviewHost<ToWebview, FromWebview> } {
  const panel = vscode.window.createWebviewPanel(viewType, content.title, column, webviewOptions(extensionUri));
  const host = hostWebview<ToWebview, FromWebview>(panel.webview, extensionUri, content, channel);
  panel.onDidDispose(() => host.dispose());
  return { panel, host };
}
