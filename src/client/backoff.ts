/**
 * Linear reconnect backoff (seed task 6.3): the n-th consecutive failed attempt waits
 * `min(cap, n × step)`, spread by ± `jitter` (a fraction of that delay) so that many clients
 * dropped by one server restart do not reconnect in lock-step. Linear rather than exponential:
 * a restarting runner is usually back within seconds, and a dashboard should notice quickly.
 */

export interface BackoffOptions {
  /** Milliseconds added per attempt (default 1000). */
  step?: number;
  /** Upper bound before jitter (default 30000). */
  cap?: number;
  /** 0..1: the delay is scaled by a uniform factor in [1 - jitter, 1 + jitter] (default 0.1). */
  jitter?: number;
}

export const DEFAULT_STEP_MS = 1000;
export const DEFAULT_CAP_MS = 30_000;
export const DEFAULT_JITTER = 0.1;

/** Delay before reconnect attempt `attempt` (1-based); `random` returns [0, 1). */
export function backoffDelay(attempt: number, o: BackoffOptions = {}, random: () => number = Math.random): number {
  const step = o.step ?? DEFAULT_STEP_MS;
  const cap = o.cap ?? DEFAULT_CAP_MS;
  const jitter = Math.min(1, Math.max(0, o.jitter ?? DEFAULT_JITTER));
  const base = Math.min(cap, Math.max(1, attempt) * step);
  if (jitter === 0) return base;
  return Math.max(0, Math.round(base * (1 + jitter * (2 * random() - 1))));
}
