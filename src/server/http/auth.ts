/**
 * Bearer-token auth. Both sides are hashed (sha256) before `timingSafeEqual`, so the compare is
 * constant-time and needs equal-length inputs whatever the caller sent. The principal that
 * scopes idempotency keys is derived from the token hash — never the token itself.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export interface Auth {
  /** True when a token is configured. */
  enabled: boolean;
  /**
   * True when `presented` carries the configured token (always true when none is configured).
   * Accepts an Authorization header value (`Bearer <token>`) or a bare token (WebSocket
   * subprotocol or query parameter).
   */
  checkToken(presented: string | undefined): boolean;
  /** The principal for a request: `token:<hash prefix>` when authenticated with a token, else `anonymous`. */
  principal(presented: string | undefined): string;
  /** Both at once (one hash per request): whether the token matches, and the principal. */
  authenticate(presented: string | undefined): { ok: boolean; principal: string };
}

export function createAuth(token: string | undefined): Auth {
  const expected = token ? sha256(token) : undefined;
  const bare = (v: string | undefined) => {
    if (!v) return '';
    const m = /^Bearer\s+(.+)$/i.exec(v.trim());
    return m ? m[1]!.trim() : v.trim();
  };
  const expectedHeader = token ? Buffer.from(`Bearer ${token}`) : undefined;
  const check = (presented: string | undefined) => {
    if (!expected) return true;
    // Hot path: the exact header form, compared in constant time without hashing.
    if (presented && expectedHeader && Buffer.byteLength(presented) === expectedHeader.length) {
      if (timingSafeEqual(Buffer.from(presented), expectedHeader)) return true;
    }
    const given = bare(presented);
    return given.length > 0 && timingSafeEqual(sha256(given), expected);
  };
  const tokenPrincipal = expected ? `token:${expected.subarray(0, 8).toString('hex')}` : 'anonymous';
  return {
    enabled: !!expected,
    checkToken: check,
    principal: (presented) => (expected && check(presented) ? tokenPrincipal : 'anonymous'),
    authenticate(presented) {
      if (!expected) return { ok: true, principal: 'anonymous' };
      const ok = check(presented);
      return { ok, principal: ok ? tokenPrincipal : 'anonymous' };
    },
  };
}

/** Standalone check for code that holds the configured token (e.g. the WebSocket upgrade). */
export function checkToken(expectedToken: string | undefined, presented: string | undefined): boolean {
  return createAuth(expectedToken).checkToken(presented);
}
