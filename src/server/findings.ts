/**
 * What the checks of the trace-events language server find, before it becomes an LSP
 * diagnostic: plain data, so the checks are tested without a connection.
 */

export type Severity = 'error' | 'warning' | 'information' | 'hint';

/** Who would complain: tracetool at build time, or the compiler / a reviewer (the workbench's own checks). */
export type FindingSource = 'tracetool' | 'qemu-trace-events';

export interface LineEdit {
  /** 0-based line and [start, end) columns in UTF-16 code units. */
  readonly line: number;
  readonly start: number;
  readonly end: number;
  readonly newText: string;
}

export interface RelatedPlace {
  readonly file: string;
  readonly line: number;
  readonly start: number;
  readonly end: number;
  readonly message: string;
}

export interface Finding {
  readonly line: number;
  readonly start: number;
  readonly end: number;
  readonly severity: Severity;
  readonly source: FindingSource;
  /** A stable id per rule, e.g. `argument-type`. */
  readonly code: string;
  readonly message: string;
  /** A fix that is certain (offered as the preferred quick fix). */
  readonly fix?: { readonly title: string; readonly edits: readonly LineEdit[] } | undefined;
  readonly related?: readonly RelatedPlace[] | undefined;
  /** Code that is never used (shown faded). */
  readonly unnecessary?: boolean | undefined;
}
