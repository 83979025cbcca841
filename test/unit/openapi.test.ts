/**
 * Contract drift: docs/openapi.json must equal what the code generates (regenerate with
 * `npx tsx scripts/gen-openapi.ts`), and it must carry the same schemas the handlers use.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { projectConfigSchema } from '../../src/domain/projectConfig.ts';
import { statusSchema } from '../../src/domain/status.ts';
import { openApiText } from '../../src/server/openapi.ts';
import { ROUTES } from '../../src/server/rest/spec.ts';
import { violations } from '../support/jsonSchema.ts';

const committed = await readFile(new URL('../../docs/openapi.json', import.meta.url), 'utf8');
const doc = JSON.parse(committed);
const strip = ({ $schema: _s, ...rest }: Record<string, unknown>) => rest;

describe('OpenAPI document', () => {
  test('the committed file is exactly what the code generates (no drift)', () => {
    expect(openApiText()).toBe(committed);
  });

  test('is OpenAPI 3.1 with every route of the table', () => {
    expect(doc.openapi).toBe('3.1.0');
    for (const r of ROUTES) expect(doc.paths[r.path]?.[r.method.toLowerCase()]?.operationId).toBe(r.operationId);
  });

  test('carries the zod schemas the handlers validate with', () => {
    expect(doc.components.schemas.ProjectStatus).toEqual(strip(z.toJSONSchema(statusSchema, { target: 'draft-2020-12' }) as Record<string, unknown>));
    expect(doc.components.schemas.ProjectConfig).toEqual(strip(z.toJSONSchema(projectConfigSchema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>));
  });

  test('the schema checker used by the contract tests rejects what zod rejects', () => {
    const s = doc.components.schemas.ProjectStatus;
    const good = statusSchema.parse({
      projectId: 'p', state: 'idle', substate: null, currentTask: null, completedTaskIds: [], skippedTaskIds: [], blockedTaskIds: [],
      taskCounts: { total: 0, done: 0, skipped: 0, remaining: 0 }, lastError: null, tools: null, templatePath: null,
      acceptedCommands: ['PAUSE'], lanes: [], mergeQueue: [], seq: 1, updatedAt: 'now',
    });
    expect(violations(s, good, doc)).toEqual([]);
    expect(violations(s, { ...good, state: 'dancing' }, doc)).not.toEqual([]);
    expect(violations(s, { ...good, seq: 'x' }, doc)).not.toEqual([]);
    const { projectId: _p, ...missing } = good;
    expect(violations(s, missing, doc)).not.toEqual([]);
  });
});
