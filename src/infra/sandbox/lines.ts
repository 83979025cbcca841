/**
 * Output plumbing shared by the sandbox implementations (local and docker):
 * a byte-chunk → line splitter and a bounded tail buffer.
 *
 * Both are bounded so that a command producing megabytes of output (or one
 * enormous line with no newline) never grows the runner's memory.
 */
import { StringDecoder } from 'node:string_decoder';

/** Default cap (UTF-16 chars) of one emitted line; longer runs without '\n' are emitted in pieces of this size. */
export const DEFAULT_MAX_LINE_CHARS = 64 * 1024;
/** Default tail kept per stream in an ExecResult. */
export const DEFAULT_TAIL_BYTES = 64 * 1024;

export interface LineSplitter {
  /** Feed the next chunk of the stream (Buffer or already-decoded string). */
  push(chunk: Buffer | string): void;
  /** End of stream: emit the final partial line, if any. Idempotent. */
  flush(): void;
}

/**
 * Split a byte stream into lines and call `onLine` for each, in order.
 *
 * - UTF-8 sequences split across chunks are decoded correctly (StringDecoder).
 * - '\n' ends a line; a trailing '\r' is dropped (CRLF output).
 * - A run longer than `maxLineChars` without a newline is emitted in pieces so the
 *   pending buffer stays bounded (a progress bar or a 5 MB minified blob cannot OOM us).
 * - `flush()` emits the last line even if it had no terminating newline.
 */
export function createLineSplitter(
  onLine: (line: string) => void,
  opts: { maxLineChars?: number } = {},
): LineSplitter {
  const maxLine = Math.max(1, opts.maxLineChars ?? DEFAULT_MAX_LINE_CHARS);
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let flushed = false;

  const emit = (line: string): void => {
    onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  };

  const consume = (text: string): void => {
    if (text.length === 0) return;
    pending += text;
    let start = 0;
    for (;;) {
      const nl = pending.indexOf('\n', start);
      if (nl === -1) break;
      emit(pending.slice(start, nl));
      start = nl + 1;
    }
    pending = start === 0 ? pending : pending.slice(start);
    while (pending.length > maxLine) {
      emit(pending.slice(0, maxLine));
      pending = pending.slice(maxLine);
    }
  };

  return {
    push(chunk) {
      if (flushed) return;
      consume(typeof chunk === 'string' ? chunk : decoder.write(chunk));
    },
    flush() {
      if (flushed) return;
      flushed = true;
      consume(decoder.end());
      if (pending.length > 0) emit(pending);
      pending = '';
    },
  };
}

/**
 * Keeps only the last `capBytes` bytes of a stream, plus the total byte count.
 *
 * Chunks are retained as-is and dropped from the front once the rest already covers
 * the cap, so memory is bounded by roughly `capBytes + largest chunk`.
 */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private kept = 0;
  /** Total bytes ever pushed (not just the kept tail). */
  totalBytes = 0;

  constructor(readonly capBytes: number = DEFAULT_TAIL_BYTES) {
    if (!Number.isFinite(capBytes) || capBytes < 0) throw new RangeError(`TailBuffer cap must be >= 0, got ${capBytes}`);
  }

  push(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (buf.length === 0) return;
    this.totalBytes += buf.length;
    if (this.capBytes === 0) return;
    // Copy huge chunks down to the cap so a single 5 MB chunk is not retained whole.
    const piece = buf.length > this.capBytes ? Buffer.from(buf.subarray(buf.length - this.capBytes)) : buf;
    this.chunks.push(piece);
    this.kept += piece.length;
    while (this.chunks.length > 1 && this.kept - this.chunks[0].length >= this.capBytes) {
      this.kept -= this.chunks[0].length;
      this.chunks.shift();
    }
  }

  /** True when bytes were dropped from the front. */
  get truncated(): boolean {
    return this.totalBytes > this.kept || this.kept > this.capBytes;
  }

  /**
   * The kept tail (at most capBytes bytes) decoded as UTF-8. A multi-byte character cut
   * by the cap is skipped rather than rendered as U+FFFD.
   */
  toString(): string {
    let buf = Buffer.concat(this.chunks, this.kept);
    if (buf.length > this.capBytes) buf = buf.subarray(buf.length - this.capBytes);
    let start = 0;
    if (this.totalBytes > buf.length) {
      // Skip UTF-8 continuation bytes (10xxxxxx) at the cut.
      while (start < buf.length && start < 4 && (buf[start] & 0xc0) === 0x80) start++;
    }
    return buf.subarray(start).toString('utf8');
  }
}
