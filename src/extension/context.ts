import * as vscode from 'vscode';

/**
 * What every feature of the extension receives at activation. Built once in `activate`;
 * features register their commands, views and listeners on `subscriptions`, which VS Code
 * disposes when the extension deactivates.
 */
export interface WorkbenchContext {
  readonly extension: vscode.ExtensionContext;
  readonly subscriptions: vscode.Disposable[];
  /** The single "QEMU Migration" log channel. */
  readonly log: vscode.LogOutputChannel;
  /** Fired with the folder of a lab recording written by this window (the Recordings view reveals it). */
  readonly recordingCreated: vscode.EventEmitter<vscode.Uri>;
}

/** A feature registers itself from the context; `activate` calls each from one table. */
export type Feature = (ctx: WorkbenchContext) => void;

export const outputChannelName = 'QEMU Migration';
