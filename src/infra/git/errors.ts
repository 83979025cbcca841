/**
 * Mapping of isomorphic-git / Node network failures onto the GitError family.
 * Messages are written here, never copied from a server response, and scrubbed of the token.
 */
import { Errors } from 'isomorphic-git';
import { GitError } from './types.ts';
import { scrub } from './auth.ts';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);

export interface ErrorContext {
  /** What was being done, e.g. "fetch of main". */
  op: string;
  branch: string;
  token?: string;
}

function findCode(err: unknown): string | undefined {
  let e: any = err;
  for (let i = 0; e && i < 5; i++, e = e.cause) {
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
  }
  return undefined;
}

/** Convert any error thrown by a git operation into a GitError (GitErrors pass through). */
export function toGitError(err: unknown, ctx: ErrorContext): GitError {
  if (err instanceof GitError) return err;
  const e = err as any;
  const mk = (msg: string, code: GitError['code'], transient = false, details?: { paths?: string[] }) =>
    new GitError(scrub(msg, ctx.token), code, transient, details, { cause: err });

  // Our connect-time host check surfaces as a request error carrying a GitError.
  if (e?.cause instanceof GitError) return e.cause;

  if (e?.code === Errors.HttpError.code) {
    const status: number = e.data?.statusCode;
    if (status === 401 || status === 403) {
      const why = ctx.token ? 'the token was rejected' : 'no token is configured';
      return mk(
        `Authentication failed during ${ctx.op} (HTTP ${status}): ${why}; check the project's tokenEnv (the token env var is missing or wrong)`,
        'auth',
      );
    }
    if (status === 404) return mk(`Repository not found during ${ctx.op} (HTTP 404)`, 'not_found');
    if (status === 408 || status === 429 || status >= 500) {
      return mk(`Git server error during ${ctx.op} (HTTP ${status})`, 'network', true);
    }
    return mk(`Git server answered HTTP ${status} during ${ctx.op}`, 'git');
  }
  if (e?.code === Errors.UserCanceledError.code) {
    return mk(
      `Authentication required during ${ctx.op} but no token is configured; check the project's tokenEnv`,
      'auth',
    );
  }
  if (e?.code === Errors.MergeConflictError.code) {
    const paths: string[] = e.data?.filepaths ?? [];
    return mk(`Merge conflict during ${ctx.op} in: ${paths.join(', ')}`, 'conflict', false, { paths });
  }
  if (e?.code === Errors.PushRejectedError.code || e?.code === Errors.GitPushError.code) {
    return mk(`Push rejected during ${ctx.op}: ${e.data?.reason ?? e.message}`, 'non_fast_forward');
  }
  const net = findCode(err);
  if (net) return mk(`Network error during ${ctx.op} (${net})`, 'network', true);
  if (e?.message === 'Request timed out' || e?.name === 'TimeoutError') {
    return mk(`Network timeout during ${ctx.op}`, 'network', true);
  }
  if (e?.code === Errors.SmartHttpError.code) {
    return mk(`The repository URL does not speak the git smart HTTP protocol (${ctx.op})`, 'invalid_url');
  }
  if (e?.code === Errors.NotFoundError.code) {
    return mk(`Not found during ${ctx.op}: ${e.data?.what ?? e.message}`, 'not_found');
  }
  return mk(`Git ${ctx.op} failed: ${e?.message ?? String(err)}`, 'git');
}
