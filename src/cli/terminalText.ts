/**
 * Text for a terminal: every C0 control character but tab and newline, DEL and every C1
 * control character (ESC, CSI, OSC, ...) is written as a `\uXXXX` escape. Trace text, QMP
 * replies and file names pass through here, so none of them can move the cursor, retitle the
 * window or hide output. The escape form is JSON's, so JSON output stays valid and exact.
 */
const CONTROL_TEST = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

export function terminalSafe(text: string): string {
  if (!CONTROL_TEST.test(text)) return text;
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
