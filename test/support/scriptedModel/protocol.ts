/**
 * The contract between the scripted model's HTTP server and one provider wire format.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { RecordedRequest, ScriptedFailure, Turn, TurnUsage, WireError } from './types.ts';

export interface WireProtocol {
  name: Exclude<RecordedRequest['protocol'], 'unknown'>;
  /** 'model' = a generation request (main or side), 'aux' = token count / model list / …, null = not ours. */
  route(method: string, url: URL): 'model' | 'aux' | null;
  /** Whether a generation request is a turn of the agent loop (consumes a script turn). */
  isMain(body: Record<string, unknown>, url: URL): boolean;
  model(url: URL, body: Record<string, unknown>): string | undefined;
  /** The API key the request carries, if any (compared, never stored). */
  key(headers: IncomingHttpHeaders, url: URL): string | undefined;
  /** Write the turn as this provider's (streaming or not, as the request asked) response. */
  answer(res: ServerResponse, body: Record<string, unknown>, turn: Turn, usage: TurnUsage, seq: number, url: URL): void;
  /** Answer an aux route minimally. */
  aux(res: ServerResponse, url: URL, body: Record<string, unknown>): void;
  /** This provider's real status + body for a failure kind. */
  error(f: ScriptedFailure, model: string): WireError;
}
