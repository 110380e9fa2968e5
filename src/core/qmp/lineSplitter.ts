import { QmpProtocolError } from './errors';

export interface SplitResult {
  /** Complete lines, decoded as UTF-8, without the trailing `\n` or `\r\n`. */
  lines: string[];
  /** Set when the unfinished line grew past the limit; the splitter then holds no more bytes. */
  overflow?: QmpProtocolError;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into newline-terminated lines. Works on bytes, so a multi-byte UTF-8
 * character split across chunks is decoded whole. Invariant: never holds more than
 * `maxLineBytes` bytes of an unfinished line; past that it reports an overflow and drops them.
 */
export class LineSplitter {
  private parts: Uint8Array[] = [];
  private partBytes = 0;
  private failed = false;
  private readonly decoder = new TextDecoder('utf-8');

  constructor(readonly maxLineBytes: number) {
    if (!(maxLineBytes > 0)) throw new RangeError(`maxLineBytes must be positive, got ${maxLineBytes}`);
  }

  /** Bytes of the unfinished line currently held. */
  get pendingBytes(): number {
    return this.partBytes;
  }

  push(chunk: Uint8Array): SplitResult {
    const lines: string[] = [];
    if (this.failed) return { lines };
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(LF, start);
      if (nl < 0) break;
      const size = this.partBytes + (nl - start);
      if (size > this.maxLineBytes) return this.overflowResult(lines, size);
      lines.push(this.finishLine(chunk.subarray(start, nl)));
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.length - start;
      if (this.partBytes + rest > this.maxLineBytes) return this.overflowResult(lines, this.partBytes + rest);
      // Copy: the caller may reuse the chunk's memory.
      this.parts.push(Uint8Array.prototype.slice.call(chunk, start));
      this.partBytes += rest;
    }
    return { lines };
  }

  private finishLine(tail: Uint8Array): string {
    let bytes: Uint8Array;
    if (this.parts.length === 0) {
      bytes = tail;
    } else {
      bytes = new Uint8Array(this.partBytes + tail.length);
      let at = 0;
      for (const p of this.parts) {
        bytes.set(p, at);
        at += p.length;
      }
      bytes.set(tail, at);
      this.parts = [];
      this.partBytes = 0;
    }
    const end = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length;
    return this.decoder.decode(bytes.subarray(0, end));
  }

  private overflowResult(lines: string[], seen: number): SplitResult {
    this.parts = [];
    this.partBytes = 0;
    this.failed = true;
    const overflow = new QmpProtocolError(
      `QMP message too large: ${seen} bytes received without a newline, more than the limit of ${this.maxLineBytes} bytes`,
    );
    return { lines, overflow };
  }
}
