/**
 * Errors the client throws. Two kinds, because callers treat them differently: the server
 * answered with a problem (a `DevTeamApiError` carrying the RFC 9457 fields, including the
 * project state and the commands it accepts for a 409), or the server could not be reached at
 * all (a `DevTeamConnectionError`; the CLI maps it to exit code 2, API errors to 1).
 */

/** The RFC 9457 problem document the server sends with every error. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  instance?: string;
  state?: string;
  acceptedCommands?: string[];
  issues?: Array<{ path: Array<string | number>; message: string; [k: string]: unknown }>;
  [k: string]: unknown;
}

export class DevTeamApiError extends Error {
  override name = 'DevTeamApiError';
  readonly status: number;
  readonly type: string | undefined;
  readonly title: string;
  readonly detail: string;
  /** The project's state, for a 409 about a command the state does not accept. */
  readonly state: string | undefined;
  /** What that state does accept (empty when not a state conflict). */
  readonly acceptedCommands: string[];
  readonly issues: Problem['issues'];
  /** The whole problem document as received. */
  readonly problem: Problem;
  /** Response headers worth keeping (e.g. retry-after). */
  readonly retryAfter: string | null;

  constructor(status: number, problem: Problem, retryAfter: string | null = null) {
    const title = problem.title ?? `HTTP ${status}`;
    const detail = problem.detail ?? '';
    super(detail ? `${title}: ${detail}` : title);
    this.status = status;
    this.type = problem.type;
    this.title = title;
    this.detail = detail;
    this.state = problem.state;
    this.acceptedCommands = problem.acceptedCommands ?? [];
    this.issues = problem.issues;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }
}

export class DevTeamConnectionError extends Error {
  override name = 'DevTeamConnectionError';
  constructor(
    readonly url: string,
    cause: unknown,
  ) {
    super(`cannot reach DevTeam Runner at ${url}: ${describeCause(cause)}`, { cause });
  }
}

/** The innermost useful message of a fetch failure (undici wraps ECONNREFUSED in `cause`). */
export function describeCause(err: unknown): string {
  let e: unknown = err;
  for (let i = 0; i < 5 && e && typeof e === 'object' && 'cause' in e && (e as { cause?: unknown }).cause; i++) e = (e as { cause: unknown }).cause;
  if (e && typeof e === 'object') {
    const o = e as { code?: string; message?: string };
    if (o.code && o.message && !o.message.includes(o.code)) return `${o.code} ${o.message}`;
    if (o.message) return o.message;
    if (o.code) return o.code;
  }
  return String(e);
}
