/**
 * The HTTP pipeline in-process, with no socket and no database: routing, auth, limits, content
 * type, JSON, Idempotency-Key (an in-memory store), error mapping, metrics, and the one log line
 * of every 5xx with its correlationId and route — read back from a pino logger writing to a
 * Writable.
 */
import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { createLogger } from '../../src/infra/logger.ts';
import { createMetrics } from '../../src/infra/metrics.ts';
import { createAuth } from '../../src/server/http/auth.ts';
import { HttpError, NotFoundError } from '../../src/server/http/errors.ts';
import { createPipeline, type PlainRequest } from '../../src/server/http/pipeline.ts';
import type { Handler } from '../../src/server/http/types.ts';
import { judge, type ClaimResult, type IdempotencyStore, type StoredResponse } from '../../src/server/idempotency/store.ts';

const TOKEN = 'unit-token-0123456789';

class MemoryStore implements IdempotencyStore {
  readonly kind = 'redis' as const;
  recs = new Map<string, { fingerprint: string; state: string; response?: StoredResponse }>();
  async claim(scope: string, key: string, fingerprint: string): Promise<ClaimResult> {
    const k = `${scope}|${key}`;
    const r = this.recs.get(k);
    if (r) return judge(r, fingerprint);
    this.recs.set(k, { fingerprint, state: 'in_flight' });
    return { kind: 'claimed' };
  }
  async complete(scope: string, key: string, fingerprint: string, response: StoredResponse): Promise<void> {
    this.recs.set(`${scope}|${key}`, { fingerprint, state: 'completed', response });
  }
  async release(scope: string, key: string): Promise<void> {
    this.recs.delete(`${scope}|${key}`);
  }
}

function setup(o: { token?: string; maxBodyBytes?: number; store?: IdempotencyStore } = {}) {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(c, _e, cb) {
      for (const l of String(c).split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  const metrics = createMetrics({ defaultMetrics: false });
  const store = o.store ?? new MemoryStore();
  const p = createPipeline({
    auth: createAuth(o.token),
    metricsAuth: false,
    maxBodyBytes: o.maxBodyBytes ?? 1024,
    metrics,
    logger: createLogger({ level: 'info' }, sink),
    idempotency: store,
  });
  const call = (method: string, path: string, extra: Partial<PlainRequest> & { json?: unknown } = {}) => {
    const { json, ...rest } = extra;
    const headers = { ...(json !== undefined ? { 'content-type': 'application/json' } : {}), ...rest.headers };
    return p.handle({ method, path, ...rest, headers, body: json !== undefined ? Buffer.from(JSON.stringify(json)) : rest.body });
  };
  /** The 5xx lines (errors and warnings of the pipeline). */
  const failures = () => lines.filter((l) => l.msg === 'request failed' || l.msg === 'request answered with a server error');
  return { p, call, lines, failures, metrics, store };
}

const echo: Handler = (req) => ({ status: 200, body: { route: req.route, params: req.params, query: req.query, body: req.body ?? null, principal: req.principal } });

describe('HTTP pipeline (in-process)', () => {
  test('routes: a literal beats a parameter, which beats a wildcard; parameters decoded; query parsed', async () => {
    const { p, call } = setup();
    p.route('GET', '/api/x/{id}', echo);
    p.route('GET', '/api/x/special', () => ({ status: 200, body: 'literal' }));
    p.route('GET', '/files/*', echo, { auth: 'open' });
    p.route('GET', '/', () => ({ status: 200, body: 'root' }), { auth: 'open' });
    expect((await call('GET', '/api/x/special')).body).toBe('literal');
    expect((await call('GET', '/api/x/a%20b?q=1&q=2&r=x%2Fy')).body).toEqual({ route: '/api/x/:id', params: { id: 'a b' }, query: { q: '1', r: 'x/y' }, body: null, principal: 'anonymous' });
    expect((await call('GET', '/api/x/ab', { query: { k: 'v' } })).body).toMatchObject({ query: { k: 'v' } });
    expect((await call('GET', '/files/a/b.js')).body).toMatchObject({ route: '/files/*' });
    expect((await call('GET', '/')).body).toBe('root');
    expect(p.match('POST', '/api/x/special')).toBeUndefined();
    const nf = await call('DELETE', '/api/x/special');
    expect(nf.status).toBe(404);
    expect(nf.headers?.['content-type']).toBe('application/problem+json');
  });

  test('auth: /api needs the token (also for unmatched paths), open routes do not; 413 before 401', async () => {
    const { p, call } = setup({ token: TOKEN });
    p.route('GET', '/api/a', echo);
    p.route('POST', '/api/a', echo);
    p.route('GET', '/open', echo);
    const none = await call('GET', '/api/a');
    expect(none.status).toBe(401);
    expect(none.headers?.['www-authenticate']).toBe('Bearer');
    expect((await call('GET', '/api/nothing')).status).toBe(401);
    expect((await call('GET', '/api/nothing', { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    const ok = await call('GET', '/api/a', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.body).toMatchObject({ principal: expect.stringMatching(/^token:/) });
    expect((await call('GET', '/open')).status).toBe(200);
    expect((await call('POST', '/api/a', { body: Buffer.alloc(2048, 0x20) })).status).toBe(413);
    expect((await call('POST', '/api/a', { json: {} })).status).toBe(401);
  });

  test('bodies: 413 over the limit, 415 not JSON, 400 malformed, parsed JSON, empty body, GET body ignored', async () => {
    const { p, call } = setup();
    p.route('POST', '/api/b', echo);
    p.route('POST', '/api/small', echo, { maxBodyBytes: 4 });
    p.route('GET', '/api/b', echo);
    expect((await call('POST', '/api/b', { json: 'x'.repeat(2000) })).status).toBe(413);
    expect((await call('POST', '/api/small', { json: { a: 1 } })).status).toBe(413);
    const text = await call('POST', '/api/b', { headers: { 'content-type': 'text/plain' }, body: Buffer.from('{}') });
    expect(text.status).toBe(415);
    const bad = await call('POST', '/api/b', { headers: { 'content-type': 'application/json' }, body: Buffer.from('{"a":') });
    expect(bad).toMatchObject({ status: 400, body: { title: 'Malformed JSON', instance: '/api/b' } });
    expect((await call('POST', '/api/b', { json: { a: [1] } })).body).toMatchObject({ body: { a: [1] } });
    expect((await call('POST', '/api/b', { headers: { 'content-type': 'application/vnd.x+json' }, body: Buffer.from('1') })).body).toMatchObject({ body: 1 });
    expect((await call('POST', '/api/b')).body).toMatchObject({ body: null });
    expect((await call('GET', '/api/b', { headers: { 'content-type': 'text/plain' }, body: Buffer.from('zz') })).status).toBe(200);
  });

  test('correlation id: a valid one is echoed, an invalid one replaced; a handler-set header wins', async () => {
    const { p, call } = setup();
    p.route('GET', '/c', () => ({ status: 200 }), { auth: 'open' });
    p.route('GET', '/own', () => ({ status: 200, headers: { 'x-correlation-id': 'original' } }), { auth: 'open' });
    expect((await call('GET', '/c', { headers: { 'X-Correlation-Id': 'abc-123' } })).headers?.['x-correlation-id']).toBe('abc-123');
    expect((await call('GET', '/c', { headers: { 'x-correlation-id': 'bad id!' } })).headers?.['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect((await call('GET', '/own', { headers: { 'x-correlation-id': 'mine' } })).headers?.['x-correlation-id']).toBe('original');
  });

  test('a synchronous handler is answered synchronously through begin/run (the transport fast path)', () => {
    const { p } = setup();
    const r = p.route('GET', '/s', () => ({ status: 200, body: { ok: true } }), { auth: 'open' });
    const x = p.begin(r, { method: 'GET', path: '/s', query: '', headers: {} }, {});
    const out = p.run(x, undefined);
    expect(out).not.toBeInstanceOf(Promise);
    expect(out).toMatchObject({ status: 200, body: { ok: true } });
  });

  test('every 5xx is logged once with its correlationId and route; 4xx are not logged; metrics observed', async () => {
    const { p, call, failures, metrics } = setup();
    p.route('POST', '/api/boom', () => {
      throw new Error('secret internals');
    });
    p.route('GET', '/api/async-boom', async () => {
      throw new Error('async internals');
    });
    p.route('GET', '/api/unavailable', () => ({ status: 503, body: { ok: false } }));
    p.route('GET', '/api/missing', () => {
      throw new NotFoundError('nope');
    });
    const boom = await call('POST', '/api/boom', { json: {}, headers: { 'x-correlation-id': 'c-boom' } });
    expect(boom.status).toBe(500);
    expect(JSON.stringify(boom.body)).not.toContain('secret internals');
    await call('GET', '/api/async-boom', { headers: { 'x-correlation-id': 'c-async' } });
    await call('GET', '/api/unavailable', { headers: { 'x-correlation-id': 'c-503' } });
    await call('GET', '/api/missing', { headers: { 'x-correlation-id': 'c-404' } });
    const f = failures();
    expect(f.map((l) => l.correlationId)).toEqual(['c-boom', 'c-async', 'c-503']);
    expect(f[0]).toMatchObject({ level: 50, msg: 'request failed', route: '/api/boom', method: 'POST', status: 500, err: { message: 'secret internals' } });
    expect(f[1]).toMatchObject({ level: 50, route: '/api/async-boom', err: { message: 'async internals' } });
    expect(f[2]).toMatchObject({ level: 40, route: '/api/unavailable', status: 503 });
    expect(await metrics.text()).toMatch(/http_request_duration_seconds_count\{route="\/api\/boom",method="POST",status="500"\} 1/);
  });

  test('a 5xx under an Idempotency-Key is logged once with its correlationId, and its claim released', async () => {
    const store = new MemoryStore();
    const { p, call, failures } = setup({ store });
    let calls = 0;
    p.route('POST', '/api/flaky', () => {
      calls++;
      if (calls === 1) throw new Error('transient failure');
      return { status: 200, body: { calls } };
    });
    const key = { 'idempotency-key': 'k-1' };
    const first = await call('POST', '/api/flaky', { json: { a: 1 }, headers: { ...key, 'x-correlation-id': 'c-idem' } });
    expect(first.status).toBe(500);
    expect(first.headers?.['x-correlation-id']).toBe('c-idem');
    expect(failures()).toEqual([expect.objectContaining({ msg: 'request failed', correlationId: 'c-idem', route: '/api/flaky', status: 500, err: expect.objectContaining({ message: 'transient failure' }) })]);
    expect(store.recs.size).toBe(0);
    const retry = await call('POST', '/api/flaky', { json: { a: 1 }, headers: { ...key, 'x-correlation-id': 'c-retry' } });
    expect(retry).toMatchObject({ status: 200, body: { calls: 2 } });
    const replay = await call('POST', '/api/flaky', { json: { a: 1 }, headers: { ...key, 'x-correlation-id': 'c-replay' } });
    expect(replay.headers).toMatchObject({ 'idempotent-replayed': 'true', 'x-correlation-id': 'c-replay' });
    expect(calls).toBe(2);
    expect(failures()).toHaveLength(1);
  });

  test('a thrown 4xx under an Idempotency-Key is stored and replayed, not logged', async () => {
    const { p, call, failures } = setup();
    let calls = 0;
    p.route('POST', '/api/gone', () => {
      calls++;
      throw new HttpError(410, 'gone', 'Gone', 'gone for good');
    });
    const h = { headers: { 'idempotency-key': 'k-2' } };
    expect((await call('POST', '/api/gone', h)).status).toBe(410);
    const again = await call('POST', '/api/gone', h);
    expect(again.status).toBe(410);
    expect(again.headers?.['idempotent-replayed']).toBe('true');
    expect(calls).toBe(1);
    expect(failures()).toEqual([]);
  });

  test('an unreachable idempotency store: 503 with Retry-After, logged once with the cause', async () => {
    const broken: IdempotencyStore = {
      kind: 'redis',
      claim: async () => {
        throw new Error('connection refused');
      },
      complete: async () => undefined,
      release: async () => undefined,
    };
    const { p, call, failures, lines } = setup({ store: broken });
    p.route('POST', '/api/x', echo);
    const r = await call('POST', '/api/x', { headers: { 'idempotency-key': 'k', 'x-correlation-id': 'c-store' } });
    expect(r.status).toBe(503);
    expect(r.headers?.['retry-after']).toBe('1');
    expect(failures()).toEqual([expect.objectContaining({ correlationId: 'c-store', status: 503, err: expect.objectContaining({ message: expect.stringContaining('connection refused') }) })]);
    expect(lines.filter((l) => l.correlationId === 'c-store')).toHaveLength(1);
  });
});
