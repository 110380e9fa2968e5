import * as vscode from 'vscode';
import type { Scope } from './scope';

/**
 * What every feature of the extension receives at activation. Built once in `activate`;
 * features register their commands, views and listeners on `subscriptions`, which VS Code
 * disposes when the extension deactivates.
 */
export interface WorkbenchContext {
  readonly extension: vscode.ExtensionContext;
  readonly subscriptions: vscode.Disposable[];
  /**
   * The extension's lifetime: disposed first thing on deactivate (window reload included),
   * which aborts its signal. Lab runs, reads and processes take its signal or a child
   * scope's (one per migration view panel, one per QMP connection); work that must wind
   * down before the host exits is tracked on it and awaited by deactivate.
   */
  readonly lifetime: Scope;
  /** The single "QEMU Migration" log channel. */
  readonly log: vscode.LogOutputChannel;
  /** Fired with the folder of a lab recording written by this window (the Recordings view reveals it). */
  readonly recordingCreated: vscode.EventEmitter<vscode.Uri>;
}

/** A feature registers itself from the context; `activate` calls each from one table. */
export type Feature = (ctx: WorkbenchContext) => void;

export const outputChannelName = 'QEMU Migration';
