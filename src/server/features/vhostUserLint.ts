/** The vhost-user spec lint (src/core/vhostuser/lint.ts) as diagnostics on the spec document. */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver';
import { lintSpecWithTree } from '../../core/vhostuser/lint';
import { SPEC_IN_TREE } from '../../core/vhostuser/specSource';
import { parseSpec } from '../../core/vhostuser/specParser';
import { location, range } from './positions';

const SPEC_NAMES = new Set(['vhost-user.rst', 'vhost-user.txt']);

export function isVhostUserSpec(path: string): boolean {
  return SPEC_NAMES.has(basename(path));
}

/** Lints the spec text; inside a QEMU tree (docs/interop/vhost-user.rst beside hw/virtio) also against its C enums. */
export async function vhostUserDiagnostics(path: string, text: string): Promise<Diagnostic[]> {
  const tree = dirname(dirname(dirname(path)));
  const inTree = path === join(tree, SPEC_IN_TREE) && existsSync(join(tree, 'hw', 'virtio'));
  const lines = text.split('\n');
  const issues = await lintSpecWithTree(parseSpec(text, path), inTree ? tree : undefined);
  return issues.map((i) => {
    const l = Math.min(Math.max(i.line - 1, 0), Math.max(lines.length - 1, 0));
    const d: Diagnostic = {
      range: range(l, 0, (lines[l] ?? '').replace(/\r$/, '').length),
      severity: i.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
      source: 'vhost-user lint',
      code: i.code,
      message: i.message,
    };
    if (i.cFile) d.relatedInformation = [{ location: location(i.cFile, Math.max((i.cLine ?? 1) - 1, 0), 0, 0), message: 'C definition' }];
    return d;
  });
}
