/** Findings as LSP diagnostics (a certain fix rides along in `data` for the quick fix). */
import { DiagnosticSeverity, DiagnosticTag, type Diagnostic, type TextEdit } from 'vscode-languageserver';
import type { Finding } from './findings';
import { location, range } from './features/positions';

/** At most this many diagnostics per document: a broken 100k-line file must not flood the editor. */
export const MAX_DIAGNOSTICS = 1000;

const SEVERITY: Record<Finding['severity'], DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error, warning: DiagnosticSeverity.Warning, information: DiagnosticSeverity.Information, hint: DiagnosticSeverity.Hint,
};

export interface FixData {
  readonly fix: { readonly title: string; readonly edits: readonly TextEdit[] };
}

export function isFixData(v: unknown): v is FixData {
  if (typeof v !== 'object' || v === null) return false;
  const f = (v as { fix?: unknown }).fix;
  if (typeof f !== 'object' || f === null) return false;
  const { title, edits } = f as { title?: unknown; edits?: unknown };
  return typeof title === 'string' && Array.isArray(edits) && edits.every((e) => typeof e === 'object' && e !== null && typeof (e as { newText?: unknown }).newText === 'string' && typeof (e as { range?: unknown }).range === 'object');
}

export function toDiagnostics(findings: readonly Finding[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const f of findings) {
    if (out.length === MAX_DIAGNOSTICS) {
      out.push({ range: range(f.line, 0, 0), severity: DiagnosticSeverity.Information, source: 'qemu-trace-events', code: 'too-many', message: `${findings.length - MAX_DIAGNOSTICS} more problems are not shown` });
      break;
    }
    const d: Diagnostic = { range: range(f.line, f.start, f.end), severity: SEVERITY[f.severity], source: f.source, code: f.code, message: f.message };
    if (f.unnecessary) d.tags = [DiagnosticTag.Unnecessary];
    if (f.related) d.relatedInformation = f.related.map((r) => ({ location: location(r.file, r.line, r.start, r.end), message: r.message }));
    if (f.fix) {
      const data: FixData = { fix: { title: f.fix.title, edits: f.fix.edits.map((e) => ({ range: range(e.line, e.start, e.end), newText: e.newText })) } };
      d.data = data;
    }
    out.push(d);
  }
  return out;
}
