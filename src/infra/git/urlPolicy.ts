/**
 * Which repository URLs the runner may talk to.
 *
 * A project's repo URL comes from user config, and the runner sends a token to it, so
 * the URL must not be usable to reach cloud metadata endpoints (169.254.169.254 and
 * friends — always forbidden) or, unless explicitly allowed, hosts on the loopback /
 * private networks of the machine running the runner (SSRF).
 *
 * `validateRepoUrl` is the config-time check. `checkedLookup` is the connect-time check:
 * the HTTP client resolves hosts through it, so a DNS answer that changes between
 * validation and connection (rebinding) is still caught.
 */
import { lookup as dnsLookup } from 'node:dns';
import { promises as dnsPromises } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { GitError } from './types.ts';

export interface UrlPolicyOptions {
  /** Allow loopback / RFC 1918 / ULA / unspecified hosts (tests, self-hosted git on the LAN). */
  allowPrivate: boolean;
  /** Resolver override (tests); defaults to dns.lookup with all: true. */
  resolve?: (host: string) => Promise<string[]>;
}

type Verdict = 'ok' | 'metadata' | 'private';

/** Parse an IPv4 dotted quad into 4 octets, or null. */
function ipv4Octets(addr: string): number[] | null {
  if (isIP(addr) !== 4) return null;
  return addr.split('.').map(Number);
}

function classifyV4(o: number[]): Verdict {
  const [a, b] = o;
  if (a === 169 && b === 254) return 'metadata';
  if (a === 127 || a === 10 || a === 0) return 'private';
  if (a === 172 && b >= 16 && b <= 31) return 'private';
  if (a === 192 && b === 168) return 'private';
  return 'ok';
}

/** Expand an IPv6 literal into 8 16-bit groups (handles `::` and a dotted IPv4 tail). */
function ipv6Groups(addr: string): number[] | null {
  if (isIP(addr) !== 6) return null;
  let s = addr.split('%')[0];
  const tail = s.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (tail) {
    const o = tail[1].split('.').map(Number);
    s = s.slice(0, -tail[1].length) + `${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const [head, rest] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const r = rest ? rest.split(':') : [];
  const fill = rest === undefined ? [] : new Array(8 - h.length - r.length).fill('0');
  const groups = [...h, ...fill, ...r].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isFinite(g)) ? groups : null;
}

/** Classify a literal IP address (v4 or v6). Non-IP input is 'ok' (callers resolve first). */
export function classifyAddress(addr: string): Verdict {
  const v4 = ipv4Octets(addr);
  if (v4) return classifyV4(v4);
  const g = ipv6Groups(addr);
  if (!g) return 'ok';
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d): judge the embedded IPv4.
  const high5Zero = g.slice(0, 5).every((x) => x === 0);
  if (high5Zero && (g[5] === 0xffff || (g[5] === 0 && (g[6] !== 0 || g[7] > 1)))) {
    return classifyV4([g[6] >> 8, g[6] & 0xff, g[7] >> 8, g[7] & 0xff]);
  }
  // NAT64 well-known prefix 64:ff9b::/96 also reaches the embedded IPv4 host.
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) {
    return classifyV4([g[6] >> 8, g[6] & 0xff, g[7] >> 8, g[7] & 0xff]);
  }
  if ((g[0] & 0xffc0) === 0xfe80) return 'metadata'; // fe80::/10 link-local
  if (g.every((x) => x === 0)) return 'private'; // :: unspecified
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'private'; // ::1
  if ((g[0] & 0xfe00) === 0xfc00) return 'private'; // fc00::/7 unique-local
  return 'ok';
}

/** Throws GitError('forbidden_host') if the address may not be contacted under this policy. */
export function assertAddressAllowed(host: string, addr: string, allowPrivate: boolean): void {
  const v = classifyAddress(addr);
  if (v === 'metadata' || (v === 'private' && !allowPrivate)) {
    const why = v === 'metadata' ? 'a link-local/metadata address' : 'a loopback/private address';
    throw new GitError(`Repository host ${host} resolves to ${why} (${addr}); refusing to connect`, 'forbidden_host');
  }
}

async function defaultResolve(host: string): Promise<string[]> {
  const res = await dnsPromises.lookup(host, { all: true, verbatim: true });
  return res.map((r) => r.address);
}

/** Parse and check a URL's shape: http(s), no embedded credentials. Returns the bare host name. */
export function parseRepoUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new GitError('Repository URL is not a valid URL', 'invalid_url');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw new GitError(`Repository URL must use http or https, not ${u.protocol}`, 'invalid_url');
  }
  if (u.username || u.password) {
    // Never echo the URL: the embedded part is probably a secret.
    throw new GitError('Repository URL must not embed credentials; configure a token env var instead', 'invalid_url');
  }
  if (!u.hostname) throw new GitError('Repository URL has no host', 'invalid_url');
  return u;
}

/** Strip IPv6 brackets from URL.hostname. */
function bareHost(u: URL): string {
  return u.hostname.replace(/^\[(.*)\]$/, '$1');
}

/** Config-time check of a repository URL. See the module comment. */
export async function validateRepoUrl(url: string, opts: UrlPolicyOptions): Promise<void> {
  const u = parseRepoUrl(url);
  const host = bareHost(u);
  let addrs: string[];
  if (isIP(host)) {
    addrs = [host];
  } else {
    try {
      addrs = await (opts.resolve ?? defaultResolve)(host);
    } catch (err) {
      throw new GitError(`Cannot resolve repository host ${host}`, 'network', true, undefined, { cause: err });
    }
  }
  for (const a of addrs) assertAddressAllowed(host, a, opts.allowPrivate);
}

/**
 * A `net` lookup function that resolves like dns.lookup but fails with a forbidden_host
 * GitError when any resolved address is disallowed. Used by the git HTTP client.
 */
export function checkedLookup(allowPrivate: boolean): LookupFunction {
  return ((hostname: string, options: any, callback: any) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err);
      const list = addresses as unknown as { address: string; family: number }[];
      try {
        for (const a of list) assertAddressAllowed(hostname, a.address, allowPrivate);
      } catch (e) {
        return callback(e as NodeJS.ErrnoException);
      }
      if (options?.all) return callback(null, list);
      callback(null, list[0].address, list[0].family);
    });
  }) as LookupFunction;
}
