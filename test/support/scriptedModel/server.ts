/**
 * The scripted model endpoint: an HTTP server on 127.0.0.1 (random port) that speaks the
 * streaming APIs the real agent CLIs call — Anthropic Messages (Claude Code), OpenAI
 * Responses (Codex), Gemini streamGenerateContent (Gemini CLI) and OpenAI Chat
 * Completions (opencode) — and answers from a test's Script instead of a model.
 *
 * Main requests (turns of the agent loop, recognised per protocol by the tool list they
 * carry) consume the script's turns in order; once the turns are used up they get a final
 * text. Side requests (titles, summaries, routing/next-speaker checks, token counts, model
 * lists, telemetry) get a minimal answer and are recorded with role 'side'. With
 * `script.fail` set, every request gets that provider's real error for the failure kind.
 *
 * Every request is recorded (body, model, header NAMES, whether the expected key came);
 * the key value itself is never stored. Usage reported per response is recorded so tests
 * can compare it with what the agent reported.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { anthropicProtocol } from './anthropic.ts';
import { geminiProtocol } from './gemini.ts';
import { chatProtocol } from './openaiChat.ts';
import { responsesProtocol } from './openaiResponses.ts';
import type { WireProtocol } from './protocol.ts';
import { sendError, sendJson } from './sse.ts';
import type { RecordedRequest, Script, Turn, TurnUsage } from './types.ts';

export type { RecordedRequest, Script, Turn, TurnUsage, ToolCall, ScriptedFailure, FailureKind } from './types.ts';

export interface ScriptedModel {
  /** `http://127.0.0.1:<port>` (no trailing slash, no path). */
  readonly url: string;
  /** Every request served so far, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Replace the script (and reset the turn counter); the request log is kept. */
  setScript(script: Script): void;
  /** Sum of the usage reported on main (or all model) responses. */
  reportedUsage(which?: 'main' | 'all'): TurnUsage;
  /** A one-line-per-request summary, for failure messages. */
  describe(): string;
  close(): Promise<void>;
}

const PROTOCOLS: WireProtocol[] = [anthropicProtocol, responsesProtocol, chatProtocol, geminiProtocol];
const MAX_BODY = 32 * 1024 * 1024;

/** Default usage of main turn `i` (distinct per turn so sums are checkable) and of side requests. */
export const mainUsage = (i: number): TurnUsage => ({ inputTokens: 1000 + 100 * i, outputTokens: 40 + i, cachedTokens: 300 + i });
export const SIDE_USAGE: TurnUsage = { inputTokens: 50, outputTokens: 5, cachedTokens: 0 };
const FINAL: Turn = { kind: 'text', text: 'Done.' };

export async function startScriptedModel(opts: { apiKey: string; script?: Script; log?: (line: string) => void }): Promise<ScriptedModel> {
  let script: Script = opts.script ?? {};
  let next = 0;
  let seq = 0;
  const requests: RecordedRequest[] = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      try {
        handle(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch (e) {
        opts.log?.(`scripted model: handler error ${(e as Error).message}`);
        if (!res.headersSent) sendJson(res, 500, { error: { message: 'scripted model handler error' } });
        else res.end();
      }
    });
  });

  function handle(req: http.IncomingMessage, res: http.ServerResponse, text: string): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      body = { _unparsed: text.slice(0, 2000) };
    }
    const rec: RecordedRequest = {
      method, url: url.pathname + url.search, protocol: 'unknown', role: 'side', keyMatched: false, status: 0, body,
      headerNames: Object.keys(req.headers).sort(),
    };
    requests.push(rec);
    const done = (status: number): void => {
      rec.status = status;
      opts.log?.(`scripted model: ${method} ${rec.url} -> ${status} ${rec.role}${rec.turn !== undefined ? ` turn ${rec.turn}` : ''}`);
    };

    const proto = PROTOCOLS.find((p) => p.route(method, url) !== null);
    if (!proto) {
      // Telemetry/update checks/unknown routes: answer empty so nothing retries forever.
      done(404);
      return sendJson(res, 404, { error: { message: `scripted model: no route for ${method} ${url.pathname}` } });
    }
    rec.protocol = proto.name;
    rec.model = proto.model(url, body);
    rec.keyMatched = proto.key(req.headers, url) === opts.apiKey;
    if (script.fail) {
      rec.role = 'error';
      const err = proto.error(script.fail, rec.model ?? 'unknown');
      done(err.status);
      return sendError(res, err);
    }
    if (proto.route(method, url) === 'aux') {
      done(200);
      return proto.aux(res, url, body);
    }
    const main = proto.isMain(body, url);
    const s = ++seq;
    let turn: Turn = FINAL;
    let usage = SIDE_USAGE;
    if (main) {
      rec.role = 'main';
      rec.turn = next;
      turn = script.turns?.[next] ?? FINAL;
      usage = turn.usage ?? mainUsage(next);
      next++;
    } else {
      turn = { kind: 'text', text: 'ok' };
    }
    rec.usage = usage;
    done(200);
    proto.answer(res, body, turn, usage, s, url);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setScript(s) {
      script = s;
      next = 0;
    },
    reportedUsage(which = 'main') {
      const sum: TurnUsage = { inputTokens: 0, outputTokens: 0, cachedTokens: 0 };
      for (const r of requests) {
        if (!r.usage || (which === 'main' && r.role !== 'main')) continue;
        sum.inputTokens += r.usage.inputTokens;
        sum.outputTokens += r.usage.outputTokens;
        sum.cachedTokens += r.usage.cachedTokens;
      }
      return sum;
    },
    describe: () => requests.map((r) => `${r.method} ${r.url} ${r.protocol}/${r.role}${r.turn !== undefined ? `#${r.turn}` : ''} model=${r.model ?? '-'} -> ${r.status}`).join('\n'),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
