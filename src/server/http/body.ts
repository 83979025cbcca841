/**
 * Reads a request body from uWS with a hard byte limit. uWS hands out chunks that are neutered
 * when the callback returns, so each chunk is copied. A declared Content-Length over the limit
 * is refused before any byte is read; a streamed body is refused as soon as it crosses the
 * limit — in both cases before JSON parsing could start, and memory stays bounded. A client
 * that aborts mid-body rejects the promise (nothing is answered then).
 */
import type uWS from 'uWebSockets.js';
import { PayloadTooLargeError } from './errors.ts';
import type { ResState } from './respond.ts';

/** Must be called synchronously inside the uWS route handler (onData cannot be attached later). */
export function readBody(res: uWS.HttpResponse, st: ResState, limit: number, declaredLength: number | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (declaredLength !== undefined && declaredLength > limit) {
      reject(new PayloadTooLargeError(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    // A client gone mid-body: settle, so nothing waits for the rest (graceful close drains).
    st.onAbort = () => {
      if (failed) return;
      failed = true;
      reject(new Error('client aborted the request'));
    };
    res.onData((chunk, isLast) => {
      if (failed || st.aborted) return;
      size += chunk.byteLength;
      if (size > limit) {
        failed = true;
        reject(new PayloadTooLargeError(limit));
        return;
      }
      // Copy: the ArrayBuffer is neutered as soon as this callback returns.
      chunks.push(Buffer.from(new Uint8Array(chunk).slice()));
      if (isLast) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
  });
}

/** True when the content-type names JSON (`application/json` or `application/*+json`). */
export function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const mime = value.split(';')[0]!.trim().toLowerCase();
  return mime === 'application/json' || (mime.startsWith('application/') && mime.endsWith('+json'));
}
