// The ladder diagram of one checked flow, as a self-contained webview page (no vscode import, so
// it is unit-tested directly). Trace text is always escaped; the only script is the page's own,
// allowed by nonce, and it only posts which line was clicked.
import type { CheckResult, Violation } from '../../core/vhostuser/check';

/** Messages from the ladder webview to its host. */
export type LadderToHost = { readonly type: 'reveal'; readonly line: number };

/** At most this many rows are drawn; the page says when the flow is longer. */
export const LADDER_MAX_ROWS = 5000;

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

const hex = (v: number | undefined): string => (v === undefined ? '' : `0x${v.toString(16)}`);

const base = (f: string | undefined): string => (f === undefined ? 'this file' : f.slice(f.lastIndexOf('/') + 1));

/** The back-end's death: what happened, each source's line (clickable when it is the shown file), the spec's sentences. */
function diagnosisHtml(v: Violation): string {
  const sources = (v.sources ?? []).map((s) => {
    const here = s.source === 'qemu-trace';
    return `<li class="source"${here ? ` data-line="${s.line}"` : ''}>${escapeHtml(`${base(s.file)}:${s.line}: ${s.text}`)} <span class="details">${escapeHtml(s.role)}</span></li>`;
  }).join('');
  const cites = (v.citations ?? []).map((c) => `<blockquote>${escapeHtml(`spec line ${c.specLine}: "${c.sentence}"`)}</blockquote>`).join('');
  return `<div class="diagnosis"><h2>${escapeHtml(v.rule)}</h2><p>${escapeHtml(v.message)}</p><ul>${sources}</ul>${cites}${v.note ? `<p>${escapeHtml(v.note)}</p>` : ''}</div>`;
}

/** The death of the back-end, when the check found one: its violation (with sources) comes last. */
function deathOf(result: CheckResult): Violation | undefined {
  return result.violations.find((v) => v.rule === 'backend-closed' || v.rule.startsWith('backend-died'));
}

export function ladderHtml(result: CheckResult, opts: { readonly title: string; readonly cspSource: string; readonly nonce: string }): string {
  const death = deathOf(result);
  const byLine = new Map<number, string[]>();
  for (const v of result.violations) {
    if (v.file !== undefined) continue;
    const list = byLine.get(v.line) ?? [];
    list.push(`${v.rule}: ${v.message}`);
    byLine.set(v.line, list);
  }
  const rows: { line: number; html: string }[] = [];
  const messages = result.flow.messages.slice(0, LADDER_MAX_ROWS);
  for (const m of messages) {
    // Front-end requests and back-end replies travel right; back-end requests and front-end replies left.
    const rightward = (m.type === 'front-end') !== m.isReply;
    const label = `${m.name ?? `request ${m.id}`}${m.isReply ? ' (reply)' : ''}`;
    const details = [m.flags !== undefined ? `flags ${hex(m.flags)}` : '', m.size !== undefined ? `size ${m.size}` : '',
      m.u64 !== undefined ? `u64 0x${m.u64.toString(16)}` : '', m.fds ? `${m.fds} fd` : ''].filter(Boolean).join(', ');
    const bad = byLine.get(m.line);
    const died = death !== undefined && death.file === undefined && death.line === m.line && !m.isReply;
    const classes = [bad ? 'bad' : '', died ? 'died' : ''].filter(Boolean).join(' ');
    rows.push({ line: m.line, html: `<tr class="${classes}" data-line="${m.line}" tabindex="0">`
      + `<td class="line">${m.line}</td>`
      + `<td class="arrow ${rightward ? 'right' : 'left'}"><span class="label">${escapeHtml(label)}</span>`
      + `${details ? `<span class="details">${escapeHtml(details)}</span>` : ''}`
      + `${died ? '<span class="mark">back-end died here</span>' : ''}`
      + `${bad ? bad.map((b) => `<div class="violation">${escapeHtml(b)}</div>`).join('') : ''}</td></tr>` });
  }
  for (const e of result.flow.connectionEvents ?? []) {
    const what = e.kind === 'closed' ? 'connection closed by the back-end' : e.kind === 'opened' ? 'back-end connected' : `socket event ${e.event}`;
    rows.push({ line: e.line, html: `<tr class="event ${e.kind}" data-line="${e.line}" tabindex="0"><td class="line">${e.line}</td>`
      + `<td class="event-cell">${escapeHtml(`${what} (chardev ${e.chardev}, event ${e.event})`)}</td></tr>` });
  }
  rows.sort((a, b) => a.line - b.line);
  const diagnosis = death ? diagnosisHtml(death) : '';
  const more = result.flow.messages.length - messages.length;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${opts.cspSource} 'nonce-${opts.nonce}'; script-src 'nonce-${opts.nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(opts.title)}</title>
<style nonce="${opts.nonce}">
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); background: var(--vscode-editor-background); }
table { border-collapse: collapse; width: 100%; }
th { text-align: left; color: var(--vscode-descriptionForeground); font-weight: normal; }
td.line { color: var(--vscode-editorLineNumber-foreground); text-align: right; padding-right: 1em; width: 5em; font-family: var(--vscode-editor-font-family); }
td.arrow { padding: 2px 0; border-left: 2px solid var(--vscode-panel-border); border-right: 2px solid var(--vscode-panel-border); }
td.arrow.right .label::after { content: ' \\2192'; }
td.arrow.left { text-align: right; }
td.arrow.left .label::before { content: '\\2190 '; }
.details { color: var(--vscode-descriptionForeground); margin: 0 1em; font-size: 90%; }
tr { cursor: pointer; }
tr:hover, tr:focus { background: var(--vscode-list-hoverBackground); outline: none; }
tr.bad td.arrow { background: var(--vscode-inputValidation-errorBackground); }
tr.died td.arrow { border-right: 4px solid var(--vscode-errorForeground); }
.mark { color: var(--vscode-errorForeground); font-weight: bold; margin: 0 1em; }
tr.event td.event-cell { text-align: center; color: var(--vscode-descriptionForeground); border-top: 1px dashed var(--vscode-panel-border); }
tr.event.closed td.event-cell { color: var(--vscode-errorForeground); border-top: 2px solid var(--vscode-errorForeground); font-weight: bold; }
.diagnosis { border: 1px solid var(--vscode-inputValidation-errorBorder); background: var(--vscode-inputValidation-errorBackground); padding: 0.5em 1em; margin-bottom: 1em; }
.diagnosis h2 { font-size: 110%; margin: 0.2em 0; }
.diagnosis li { white-space: normal; }
.diagnosis blockquote { margin: 0.3em 0 0.3em 1em; font-style: italic; }
.source { font-family: var(--vscode-editor-font-family); }
.violation { color: var(--vscode-errorForeground); white-space: normal; }
</style></head>
<body>
<p>${escapeHtml(`${result.flow.format}${result.flow.connection ? `, ${result.flow.connection}` : ''}: ${result.messageCount} messages, ${result.violations.length} violation(s), ${result.unknown.length} undecided rule(s)`)}</p>
${diagnosis}
<table><thead><tr><th>line</th><th>front-end &#8594; back-end</th></tr></thead><tbody>
${rows.map((r) => r.html).join('\n')}
</tbody></table>
${more > 0 ? `<p>${more} more messages not drawn.</p>` : ''}
<script nonce="${opts.nonce}">
const vscode = acquireVsCodeApi();
const reveal = (e) => { const tr = e.target.closest('[data-line]'); if (tr) vscode.postMessage({ type: 'reveal', line: Number(tr.dataset.line) }); };
document.addEventListener('click', reveal);
document.addEventListener('keydown', (e) => { if (e.key === 'Enter') reveal(e); });
</script>
</body></html>`;
}
