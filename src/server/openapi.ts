/**
 * The OpenAPI 3.1 document, generated from the route table and the same zod schemas the
 * handlers validate with (z.toJSONSchema, JSON Schema 2020-12 — OpenAPI 3.1's dialect).
 * docs/openapi.json is this output, committed; a test regenerates and diffs it.
 */
import { z } from 'zod';
import { problemSchema } from './http/errors.ts';
import { COMPONENTS, PLUGIN_ROUTES, ROUTES, type RouteDoc } from './rest/spec.ts';

type Json = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const s = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Json;
  delete s.$schema;
  return s;
}

function parameters(doc: RouteDoc): Json[] {
  const out: Json[] = [];
  const add = (obj: z.ZodObject | undefined, where: 'path' | 'query') => {
    if (!obj) return;
    const js = jsonSchema(obj, 'input') as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, schema] of Object.entries(js.properties ?? {})) {
      out.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema });
    }
  };
  add(doc.params, 'path');
  add(doc.query, 'query');
  return out;
}

function operation(doc: RouteDoc): Json {
  const responses: Json = {};
  for (const [code, r] of Object.entries(doc.responses)) {
    const headers = r.headers
      ? Object.fromEntries(Object.entries(r.headers).map(([h, d]) => [h, { description: d, schema: { type: 'string' } }]))
      : undefined;
    const type = r.contentType ?? 'application/json';
    const content = r.schema ? { [type]: { schema: { $ref: `#/components/schemas/${r.schema}` } } } : r.contentType ? { [type]: { schema: { type: 'string' } } } : undefined;
    responses[code] = { description: r.description, ...(headers ? { headers } : {}), ...(content ? { content } : {}) };
  }
  const params = parameters(doc);
  if (doc.method === 'POST') {
    params.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description: '1-255 printable ASCII characters; the same key with the same request replays the stored response (Idempotent-Replayed: true) for 6 h',
      schema: { type: 'string', minLength: 1, maxLength: 255 },
    });
  }
  return {
    operationId: doc.operationId,
    summary: doc.summary,
    ...(doc.auth === 'open' ? { security: [] } : doc.auth === 'metrics' ? { security: [{}, { bearer: [] }] } : {}),
    ...(params.length ? { parameters: params } : {}),
    ...(doc.body ? { requestBody: { required: doc.bodyRequired ?? true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${doc.body}` } } } } } : {}),
    responses,
  };
}

/** Build the document. `extra` lets plug-ins (events, WebSocket) document their routes too. */
export function buildOpenApi(extra: RouteDoc[] = []): Json {
  const paths: Record<string, Json> = {};
  for (const doc of [...ROUTES, ...PLUGIN_ROUTES, ...extra]) {
    paths[doc.path] ??= {};
    paths[doc.path]![doc.method.toLowerCase()] = operation(doc);
  }
  const schemas: Json = { Problem: jsonSchema(problemSchema, 'output') };
  for (const [name, c] of Object.entries(COMPONENTS)) schemas[name] = jsonSchema(c.schema, c.io);
  return {
    openapi: '3.1.0',
    info: {
      title: 'DevTeam Runner API',
      version: '1',
      description: 'Control DevTeam Runner projects. Errors are application/problem+json (RFC 9457).',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: [{ bearer: [] }],
    paths,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas },
  };
}

/** Stable text form (what docs/openapi.json holds). */
export function openApiText(extra: RouteDoc[] = []): string {
  return JSON.stringify(buildOpenApi(extra), null, 2) + '\n';
}
