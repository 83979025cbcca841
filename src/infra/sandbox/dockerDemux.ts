/**
 * Demultiplexer for docker's attach/exec stream format (no Tty): each frame is an
 * 8-byte header [streamType, 0, 0, 0, size (uint32 BE)] followed by `size` payload bytes.
 * streamType 1 = stdout, 2 = stderr (0 = stdin, treated as stdout).
 *
 * Written here instead of using docker.modem.demuxStream so that frames of both streams are
 * delivered synchronously, in wire order, to one callback (ordering across stdout/stderr matters
 * for the live log).
 */
import type { OutputStream } from './types.ts';

const HEADER_BYTES = 8;

export interface Demuxer {
  push(chunk: Buffer): void;
  /** Bytes buffered in an incomplete frame (0 when the stream ended on a frame boundary). */
  readonly pendingBytes: number;
}

export function createDemuxer(onFrame: (stream: OutputStream, payload: Buffer) => void): Demuxer {
  let chunks: Buffer[] = [];
  let buffered = 0;

  /** Concatenate and return the first `n` buffered bytes, keeping the rest. */
  const take = (n: number): Buffer => {
    const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, buffered);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    chunks = rest.length > 0 ? [rest] : [];
    buffered = rest.length;
    return head;
  };

  let frameType: OutputStream | null = null;
  let frameSize = 0;

  return {
    push(chunk) {
      if (chunk.length === 0) return;
      chunks.push(chunk);
      buffered += chunk.length;
      for (;;) {
        if (frameType === null) {
          if (buffered < HEADER_BYTES) return;
          const header = take(HEADER_BYTES);
          frameType = header[0] === 2 ? 'stderr' : 'stdout';
          frameSize = header.readUInt32BE(4);
        }
        if (buffered < frameSize) return;
        const payload = frameSize === 0 ? Buffer.alloc(0) : take(frameSize);
        const type = frameType;
        frameType = null;
        if (payload.length > 0) onFrame(type, payload);
      }
    },
    get pendingBytes() {
      return buffered + (frameType === null ? 0 : HEADER_BYTES);
    },
  };
}
