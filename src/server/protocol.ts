/** The server's own messages beside LSP (shared by the server, the client and the tests). */
import { NotificationType } from 'vscode-languageserver-protocol';

export interface IndexStatus {
  readonly state: 'indexing' | 'ready' | 'failed';
  /** C files indexed (when ready), of how many in the tree. */
  readonly filesDone: number;
  readonly cFiles: number;
  readonly traceEventsFiles: number;
  readonly events: number;
  readonly callSites: number;
  /** Wall time of the build, when ready. */
  readonly ms: number;
  readonly message?: string;
  /** The server's process id (a restart gets a new one). */
  readonly pid: number;
}

/** Sent when indexing starts, every few hundred files, and when it ends. */
export const indexStatusNotification = new NotificationType<IndexStatus>('qemuTraceEvents/indexStatus');

export interface InitializationOptions {
  /** QEMUMigration.QEMUSourceFolder: indexed too when it is outside the workspace folders. */
  readonly qemuSourceDir?: string;
}

export function isInitializationOptions(v: unknown): v is InitializationOptions {
  if (v === undefined || v === null) return true;
  if (typeof v !== 'object') return false;
  const d = (v as { qemuSourceDir?: unknown }).qemuSourceDir;
  return d === undefined || typeof d === 'string';
}
