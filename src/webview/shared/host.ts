import type { Lifetime } from './lifetime';

/**
 * The webview side of a workbench view: typed messages to and from the extension host and
 * the view's saved state (restored after reload or when the panel is shown again).
 */
interface VsCodeApi<State> {
  postMessage(message: unknown): void;
  getState(): State | undefined;
  setState(state: State): void;
}

declare function acquireVsCodeApi<State>(): VsCodeApi<State>;

export interface HostChannel<ToWebview, FromWebview, State> {
  post(message: FromWebview): void;
  onMessage(handler: (message: ToWebview) => void): () => void;
  getState(): State | undefined;
  setState(state: State): void;
}

let api: VsCodeApi<unknown> | undefined;

/** The page's channel to the host; its message listeners go with lifetime, when given. */
export function connectHost<ToWebview, FromWebview, State>(lifetime?: Lifetime): HostChannel<ToWebview, FromWebview, State> {
  // acquireVsCodeApi may be called only once per page.
  api ??= acquireVsCodeApi<unknown>();
  const vscodeApi = api as VsCodeApi<State>;
  return {
    post: (message) => vscodeApi.postMessage(message),
    onMessage(handler) {
      const listener = (e: MessageEvent<ToWebview>): void => handler(e.data);
      window.addEventListener('message', listener, lifetime ? { signal: lifetime.signal } : undefined);
      return () => window.removeEventListener('message', listener);
    },
    getState: () => vscodeApi.getState(),
    setState: (state) => vscodeApi.setState(state),
  };
}

/** Creates an element with text content only: trace strings never become markup. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className !== undefined) e.className = className;
  return e;
}

/** Reads a theme colour from the --vscode-* variables, with a fallback for tests outside VS Code. */
export function themeColor(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(`--vscode-${name}`).trim();
  return v || fallback;
}
