/**
 * `devteam-runner/client`: the typed REST client and the /ws/devteam stream client, for the
 * CLI, the dashboard and any other program. Browser-safe: no Node built-ins are imported.
 */
export { createClient, API_PREFIX, DEFAULT_URL, type ClientOptions, type DevTeamClient } from './rest.ts';
export {
  createStream,
  streamUrl,
  WS_PATH,
  type ConnectionState,
  type Delivered,
  type DevTeamStream,
  type StateInfo,
  type StreamClock,
  type StreamOptions,
  type WebSocketCtor,
  type WebSocketLike,
} from './stream.ts';
export { backoffDelay, DEFAULT_CAP_MS, DEFAULT_JITTER, DEFAULT_STEP_MS, type BackoffOptions } from './backoff.ts';
export { DeliveryOrder, type Position, type Verdict } from './order.ts';
export { DevTeamApiError, DevTeamConnectionError, describeCause, type Problem } from './errors.ts';
export { stateOfPath, RESTING_STATES } from './states.ts';
export * from './types.ts';
