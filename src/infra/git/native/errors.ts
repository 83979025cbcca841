/**
 * Native git's failure messages (LC_ALL=C) mapped onto the GitError family. Messages are the
 * runner's own words plus, where it helps the user, git's or the remote's last lines — always
 * scrubbed of the token.
 */
import { scrub } from '../auth.ts';
import { GitError } from '../types.ts';

export interface NativeErrorContext {
  /** What was being done, e.g. "fetch of main". */
  op: string;
  branch: string;
  token?: string;
}

const NETWORK = [
  /Could not resolve host/i,
  /Failed to connect to/i,
  /Connection refused/i,
  /Connection reset/i,
  /Connection timed out/i,
  /Operation timed out/i,
  /timed out after/i,
  /early EOF/i,
  /unexpected disconnect/i,
  /the remote end hung up unexpectedly/i,
  /transfer closed with/i,
  /Empty reply from server/i,
  /GnuTLS recv error/i,
  /SSL_read/i,
  /Recv failure/i,
];

/** The interesting lines of git's stderr: `remote:` lines and fatal/error lines, last few. */
export function gitMessage(stderr: string, token?: string, max = 6): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l && !/^(hint:|warning: redirecting)/.test(l));
  const keep = lines.filter((l) => /^(remote:|fatal:|error:|! )/.test(l));
  return scrub((keep.length ? keep : lines).slice(-max).join('\n'), token);
}

/** Convert a failed git call (its stderr, exit code) into a GitError. */
export function nativeGitError(stderr: string, code: number, ctx: NativeErrorContext): GitError {
  const msg = gitMessage(stderr, ctx.token);
  const mk = (text: string, c: GitError['code'], transient = false) => new GitError(scrub(text, ctx.token), c, transient);
  const status = /The requested URL returned error: (\d{3})/.exec(stderr)?.[1];
  if (/Authentication failed|could not read (Username|Password)|terminal prompts disabled/i.test(stderr) || status === '401' || status === '403') {
    const why = ctx.token ? 'the token was rejected' : 'no token is configured';
    return mk(`Authentication failed during ${ctx.op}${status ? ` (HTTP ${status})` : ''}: ${why}; check the project's tokenEnv (the token env var is missing or wrong)`, 'auth');
  }
  if (/couldn't find remote ref|Remote branch .* not found/i.test(stderr)) {
    return mk(`Target branch '${ctx.branch}' does not exist on the remote repository`, 'branch_missing');
  }
  if (status === '404' || /repository '.*' not found|does not appear to be a git repository/i.test(stderr)) {
    return mk(`Repository not found during ${ctx.op}${status ? ' (HTTP 404)' : ''}`, 'not_found');
  }
  if (/HTTP 30\d|redirect/i.test(stderr) && /RPC failed|unable to update url base|redirect/i.test(stderr)) {
    return mk(`The repository URL redirects during ${ctx.op}; redirects are not followed (use the final URL): ${msg}`, 'invalid_url');
  }
  if (status && (status === '408' || status === '429' || Number(status) >= 500)) {
    return mk(`Git server error during ${ctx.op} (HTTP ${status})`, 'network', true);
  }
  if (/not valid: is this a git repository|dumb http transport|smart HTTP/i.test(stderr)) {
    return mk(`The repository URL does not speak the git smart HTTP protocol (${ctx.op})`, 'invalid_url');
  }
  if (NETWORK.some((re) => re.test(stderr))) return mk(`Network error during ${ctx.op}: ${msg}`, 'network', true);
  if (status) return mk(`Git server answered HTTP ${status} during ${ctx.op}`, 'git');
  return mk(`git ${ctx.op} failed (exit ${code}): ${msg}`, 'git');
}
