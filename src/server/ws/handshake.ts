/**
 * The upgrade decision for /ws/devteam, made before any WebSocket exists: Origin policy first
 * (cross-site WebSocket hijacking), then the token. Browsers cannot set headers on a WebSocket,
 * so the token travels as a subprotocol (`devteam, bearer.<token>`; the server echoes only
 * `devteam`) or a `?token=` query parameter; non-browser clients may send `Authorization`.
 * Nothing here logs the token or the query string.
 */

export interface HandshakeInput {
  host: string;
  origin: string;
  protocols: string;
  authorization: string;
  query: string;
}

export type HandshakeResult =
  | { ok: true; protocol: string }
  | { ok: false; status: '401 Unauthorized' | '403 Forbidden'; reason: string };

export const SUBPROTOCOL = 'devteam';
const BEARER_PREFIX = 'bearer.';

/** Parse DEVTEAM_WS_ORIGINS: comma separated origins, `*` allows any. */
export function parseOrigins(list: string): Set<string> {
  return new Set(
    list
      .split(',')
      .map((s) => s.trim().replace(/\/+$/, '').toLowerCase())
      .filter(Boolean),
  );
}

/**
 * Requests without Origin are not from a browser page and are allowed (the token still applies);
 * same-host origins (the dashboard served by this server) are allowed; others must be listed.
 */
export function originAllowed(origin: string, host: string, allowed: Set<string>): boolean {
  if (!origin) return true;
  const o = origin.trim().replace(/\/+$/, '').toLowerCase();
  if (allowed.has('*') || allowed.has(o)) return true;
  try {
    return new URL(o).host === host.trim().toLowerCase();
  } catch {
    return false;
  }
}

export function decide(
  input: HandshakeInput,
  allowedOrigins: Set<string>,
  checkToken: (presented: string | undefined) => boolean,
  tokenRequired: boolean,
): HandshakeResult {
  if (!originAllowed(input.origin, input.host, allowedOrigins)) return { ok: false, status: '403 Forbidden', reason: 'origin not allowed' };
  const offered = input.protocols
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const protocol = offered.includes(SUBPROTOCOL) ? SUBPROTOCOL : '';
  if (!tokenRequired) return { ok: true, protocol };
  const candidates: string[] = [];
  for (const p of offered) if (p.toLowerCase().startsWith(BEARER_PREFIX)) candidates.push(p.slice(BEARER_PREFIX.length));
  const fromQuery = new URLSearchParams(input.query).get('token');
  if (fromQuery) candidates.push(fromQuery);
  if (input.authorization) candidates.push(input.authorization);
  if (!candidates.some((c) => checkToken(c))) return { ok: false, status: '401 Unauthorized', reason: 'missing or invalid token' };
  return { ok: true, protocol };
}
