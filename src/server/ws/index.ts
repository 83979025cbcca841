/**
 * The WebSocket stream as a server plug-in: `startServer(runtime, { plugins: [webSocketPlugin()] })`.
 * Limits default to the runtime's config (DEVTEAM_WS_*); options override them (tests, benches).
 */
import type { Observable } from 'rxjs';
import type { HubEvent } from '../../actors/hub.ts';
import type { ServerPlugin } from '../http/types.ts';
import { Gateway, type GatewayLimits } from './gateway.ts';
import { parseOrigins } from './handshake.ts';

export interface WebSocketPluginOptions extends Partial<GatewayLimits> {
  /** Route pattern (default `/ws/devteam`). */
  path?: string;
  /** Allowed origins (comma separated); default DEVTEAM_WS_ORIGINS. */
  origins?: string;
  /** Event source; default the node's hub. A cluster passes its cluster-wide hub (every project). */
  hub?: { readonly all$: Observable<HubEvent> };
}

export interface WebSocketPlugin extends ServerPlugin {
  /** The running gateway (after attach): counters and stats for tests, benches and /metrics. */
  readonly gateway: Gateway | undefined;
}

export function webSocketPlugin(opts: WebSocketPluginOptions = {}): WebSocketPlugin {
  let gateway: Gateway | undefined;
  return {
    name: 'websocket',
    get gateway() {
      return gateway;
    },
    attach(ctx) {
      const c = ctx.runtime.config;
      const limits: GatewayLimits = {
        maxInboundBytes: opts.maxInboundBytes ?? c.DEVTEAM_WS_MAX_INBOUND_BYTES,
        maxOutboundBytes: opts.maxOutboundBytes ?? c.DEVTEAM_WS_MAX_OUTBOUND_BYTES,
        maxBackpressureBytes: opts.maxBackpressureBytes ?? c.DEVTEAM_WS_MAX_BACKPRESSURE_BYTES,
        replayEnvelopes: opts.replayEnvelopes ?? c.DEVTEAM_WS_REPLAY,
        replayBytesPerProject: opts.replayBytesPerProject ?? 4 * 1024 * 1024,
        heartbeatMs: opts.heartbeatMs ?? c.DEVTEAM_WS_HEARTBEAT_SEC * 1000,
        lagCheckMs: opts.lagCheckMs ?? 250,
      };
      gateway = new Gateway(
        {
          app: ctx.app,
          hub: opts.hub ?? ctx.runtime.hub,
          projection: ctx.runtime.projection,
          logger: ctx.logger.child({ component: 'ws' }),
          metrics: ctx.metrics,
          clock: ctx.runtime.clock,
          allowedOrigins: parseOrigins(opts.origins ?? c.DEVTEAM_WS_ORIGINS),
          tokenRequired: !!c.DEVTEAM_API_TOKEN,
          checkToken: ctx.checkToken,
        },
        limits,
      );
      gateway.attach(opts.path);
    },
    async close() {
      gateway?.close();
    },
  };
}
