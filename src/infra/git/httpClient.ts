/**
 * The HTTP client handed to isomorphic-git: its Node client, plus
 *  - a connect-time host check (DNS rebinding cannot bypass the URL policy),
 *  - no redirects (a redirect could carry the Authorization header elsewhere),
 *  - a socket idle timeout (a stalled server becomes a transient 'network' error),
 *  - the caller's AbortSignal.
 */
import baseHttp from 'isomorphic-git/http/node';
import type { HttpClient } from 'isomorphic-git';
import { isIP } from 'node:net';
import { assertAddressAllowed, checkedLookup } from './urlPolicy.ts';

export interface HttpClientOptions {
  allowPrivateHosts: boolean;
  /** Socket inactivity timeout in ms. */
  idleTimeoutMs: number;
  signal?: AbortSignal;
}

export function makeHttpClient(opts: HttpClientOptions): HttpClient {
  const lookup = checkedLookup(opts.allowPrivateHosts);
  return {
    async request(req) {
      // Literal-IP hosts never reach `lookup`, so check them here.
      const host = new URL(req.url).hostname.replace(/^\[(.*)\]$/, '$1');
      if (isIP(host)) assertAddressAllowed(host, host, opts.allowPrivateHosts);
      opts.signal?.throwIfAborted();
      return baseHttp.request({
        ...req,
        signal: req.signal ?? opts.signal,
        fetchOptions: { followRedirects: false, timeout: opts.idleTimeoutMs, lookup },
      } as Parameters<HttpClient['request']>[0]);
    },
  };
}
