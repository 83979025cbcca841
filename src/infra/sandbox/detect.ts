/**
 * Engine detection and dockerode error mapping for the docker sandbox.
 */
import Docker from 'dockerode';
import { SandboxError } from './types.ts';

/** Connection-level failures: the engine is not reachable (socket missing, refused, reset). */
const ENGINE_DOWN_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'EACCES', 'ETIMEDOUT', 'EHOSTUNREACH']);

/** HTTP status of a dockerode error (404, 409, 304, ...), if any. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** True when `err` means the engine itself could not be reached. */
export function isEngineDown(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown; statusCode?: unknown } | null;
  if (!e) return false;
  if (typeof e.code === 'string' && ENGINE_DOWN_CODES.has(e.code)) return true;
  const cause = (err as { cause?: unknown }).cause;
  return cause !== undefined && cause !== err && isEngineDown(cause);
}

/**
 * Wrap an unexpected dockerode failure: engine unreachable → engine_unavailable (transient),
 * anything else → the given code. SandboxErrors pass through unchanged.
 */
export function toSandboxError(err: unknown, what: string, code: 'container_failed' | 'exec_failed'): SandboxError {
  if (err instanceof SandboxError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (isEngineDown(err)) {
    return new SandboxError(`docker engine unavailable during ${what}: ${msg}`, 'engine_unavailable', true, { cause: err });
  }
  return new SandboxError(`docker ${what} failed: ${msg}`, code, false, { cause: err });
}

/**
 * True when a docker engine answers a ping within `timeoutMs` (default 1 s).
 * Uses `new Docker()` (DOCKER_HOST or /var/run/docker.sock) when no client is given.
 * Never throws.
 */
export async function detectDocker(docker?: Docker, timeoutMs = 1000): Promise<boolean> {
  const client = docker ?? new Docker();
  const signal = AbortSignal.timeout(timeoutMs);
  // @types/dockerode omits ping's options; dockerode 5 forwards abortSignal to the request.
  const ping = client.ping as unknown as (opts: { abortSignal: AbortSignal }) => Promise<unknown>;
  try {
    await Promise.race([
      ping.call(client, { abortSignal: signal }),
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
    ]);
    return true;
  } catch {
    return false;
  }
}
