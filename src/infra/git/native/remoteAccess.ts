/**
 * How one native git process reaches the project's remote: the URL policy at connect time, and
 * the token without ever putting it on disk, in argv, in a URL or in config files.
 *
 *  - Address pinning: the runner resolves the host itself, checks every address against the URL
 *    policy (metadata/link-local always refused; loopback/private only when allowed), and pins
 *    the connection to the checked address with `http.curloptResolve` (git-config(1), git ≥ 2.37;
 *    curl CURLOPT_RESOLVE), so a DNS answer that changes between check and connect (rebinding)
 *    cannot reach another address. `http.followRedirects=false` (set for every call in
 *    ./gitProcess.ts) means a redirect is never followed to a host the policy did not check.
 *  - Credentials: a `credential.helper` given as command-line-scope config
 *    (gitcredentials(7) "Custom helpers": a value starting with `!` is run by the shell with the
 *    action appended) prints the token from the environment variable DEVTEAM_GIT_TOKEN of that
 *    git process, and only when git asks for the configured host (the `host=` attribute of the
 *    request, git-credential(1) "INPUT/OUTPUT FORMAT"). The helper text names the variable, not
 *    its value; the value lives only in the runner's memory and that child's environment.
 *  - Protocols: only the URL's own scheme is allowed (`protocol.<scheme>.allow=always`, the
 *    rest stays `protocol.allow=never`): no `file://`, `ext::`, `ssh://` submodule tricks.
 */
import { isIP } from 'node:net';
import { promises as dns } from 'node:dns';
import { assertAddressAllowed, parseRepoUrl } from '../urlPolicy.ts';
import { GitError } from '../types.ts';

export const TOKEN_ENV = 'DEVTEAM_GIT_TOKEN';
const HOST_ENV = 'DEVTEAM_GIT_HOST';
const HOSTPORT_ENV = 'DEVTEAM_GIT_HOSTPORT';
/** Username sent with the token; GitHub/Gitea/GitLab accept any username with a token. */
export const TOKEN_USERNAME = 'x-access-token';

/** The credential helper: reads the request from stdin, answers only for DEVTEAM_GIT_HOST. */
const HELPER =
  `!f() { test "$1" = get || exit 0; h=; while IFS= read -r l && [ -n "$l" ]; do case "$l" in host=*) h="\${l#host=}";; esac; done; ` +
  `[ -n "$${TOKEN_ENV}" ] && { [ "$h" = "$${HOST_ENV}" ] || [ "$h" = "$${HOSTPORT_ENV}" ]; } || exit 0; printf 'username=${TOKEN_USERNAME}\\npassword=%s\\n' "$${TOKEN_ENV}"; }; f`;

export interface RemoteAccessOptions {
  url: string;
  token?: string;
  allowPrivateHosts: boolean;
  /** Resolver override (tests). */
  resolve?: (host: string) => Promise<string[]>;
}

export interface RemoteAccess {
  env: Record<string, string>;
  config: Array<[string, string]>;
}

async function defaultResolve(host: string): Promise<string[]> {
  const res = await dns.lookup(host, { all: true, verbatim: true });
  return res.map((r) => r.address);
}

/**
 * Resolve and check the remote's host now, and return the env + config for one git process.
 * Throws GitError forbidden_host / invalid_url, or a transient network GitError when the host
 * does not resolve.
 */
export async function remoteAccess(o: RemoteAccessOptions): Promise<RemoteAccess> {
  const u = parseRepoUrl(o.url);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  let addrs: string[];
  if (isIP(host)) addrs = [host];
  else {
    try {
      addrs = await (o.resolve ?? defaultResolve)(host);
    } catch (err) {
      throw new GitError(`Cannot resolve repository host ${host}`, 'network', true, undefined, { cause: err });
    }
  }
  if (!addrs.length) throw new GitError(`Cannot resolve repository host ${host}`, 'network', true);
  for (const a of addrs) assertAddressAllowed(host, a, o.allowPrivateHosts);
  const config: Array<[string, string]> = [[`protocol.${u.protocol.slice(0, -1)}.allow`, 'always']];
  if (!isIP(host)) {
    const list = addrs.map((a) => (isIP(a) === 6 ? `[${a}]` : a)).join(',');
    config.push(['http.curloptResolve', `${host}:${port}:${list}`]);
  }
  const env: Record<string, string> = {};
  if (o.token) {
    config.push(['credential.helper', HELPER]);
    env[TOKEN_ENV] = o.token;
    const name = isIP(host) === 6 ? `[${host}]` : host;
    env[HOST_ENV] = name;
    env[HOSTPORT_ENV] = `${name}:${port}`;
  }
  return { env, config };
}
