/**
 * The CLI and the typed client in team mode: `--parallelism` on init, `--task` on retry / skip
 * (and nowhere else), the lanes and the merge queue in `status` / `watch` output, and the
 * client sending `{ taskId }` as the command's JSON body.
 */
import { describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError, type Parsed } from '../../src/cli/args.ts';
import { configFromFlags } from '../../src/cli/commands.ts';
import { laneLine, projectDetail, taskLabel } from '../../src/cli/format.ts';
import { createClient } from '../../src/client/rest.ts';
import type { ProjectStatus } from '../../src/domain/status.ts';

const parsed = (argv: string[]) => parseCommandLine(argv) as Parsed;
const init = (extra: string[]) => parsed(['init', 'p1', '--repo', 'http://127.0.0.1:1/r.git', '--verify', 'true', '--agent', 'script', ...extra]);

const status = (over: Partial<ProjectStatus> = {}): ProjectStatus => ({
  projectId: 'p1', state: 'executing', substate: 'running', currentTask: { id: '1.1', title: 'One', attempt: 1 },
  lanes: [
    { taskId: '1.1', title: 'One', state: 'executing', attempt: 1, since: '2026-12-01T10:00:05.000Z', error: null },
    { taskId: '1.2', title: 'Two', state: 'halted', attempt: 3, since: '2026-12-01T10:01:00.000Z', error: 'agent exited 1: boom\nmore' },
  ],
  mergeQueue: ['1.3', '1.4'], completedTaskIds: ['0.1'], skippedTaskIds: [], blockedTaskIds: [],
  taskCounts: { total: 5, done: 1, skipped: 0, remaining: 4 }, lastError: null, tools: null, templatePath: null,
  acceptedCommands: ['PAUSE', 'STOP', 'RETRY', 'SKIP'], seq: 7, updatedAt: '2026-12-01T10:01:00.000Z',
  ...over,
}) as ProjectStatus;

describe('devteam CLI in team mode', () => {
  it('init --parallelism: 1-16 goes into the config; anything else is a usage error naming the flag', () => {
    expect(configFromFlags(init(['--parallelism', '4'])).parallelism).toBe(4);
    expect(configFromFlags(init([])).parallelism).toBeUndefined();
    for (const bad of ['0', '17', 'two', '-1']) expect(() => configFromFlags(init(['--parallelism', bad])), bad).toThrow(/--parallelism/);
  });

  it('--task is accepted by retry and skip only', () => {
    expect(parsed(['retry', 'p1', '--task', '1.2']).values.task).toBe('1.2');
    expect(parsed(['skip', 'p1', '--task', '1.2']).values.task).toBe('1.2');
    expect(() => parseCommandLine(['pause', 'p1', '--task', '1.2'])).toThrow(UsageError);
  });

  it('status and watch show each lane (halted ones with their error) and the merge queue', () => {
    const text = projectDetail(status());
    expect(text).toContain('lane      1.1 executing since 10:00:05');
    expect(text).toContain('lane      1.2 halted (attempt 3) since 10:01:00 — agent exited 1: boom more');
    expect(text).toContain('merging   1.3 → 1.4');
    expect(taskLabel(status())).toBe('2 lanes: 1.1 1.2(halted)');
    expect(taskLabel(status({ lanes: [status().lanes[0]!] }))).toBe('1.1 One');
    expect(laneLine(status().lanes[0]!)).toBe('1.1 executing since 10:00:05');
  });

  it('the client sends { taskId } as the JSON body of RETRY / SKIP, and no body otherwise', async () => {
    const seen: Array<{ url: string; body: unknown; type: string | null }> = [];
    const fetch = (async (url: string, init: RequestInit) => {
      seen.push({ url, body: init.body === undefined ? undefined : JSON.parse(String(init.body)), type: new Headers(init.headers).get('content-type') });
      return new Response(JSON.stringify(status()), { status: 200, headers: { 'content-type': 'application/json' } });
    }) as typeof globalThis.fetch;
    const client = createClient({ baseUrl: 'http://127.0.0.1:1', fetch });
    await client.retry('p1', { taskId: '1.2' });
    await client.skip('p1');
    expect(seen[0]).toEqual({ url: 'http://127.0.0.1:1/api/devteam/automation/retry/p1', body: { taskId: '1.2' }, type: 'application/json' });
    expect(seen[1]).toMatchObject({ url: 'http://127.0.0.1:1/api/devteam/automation/skip/p1', body: undefined });
  });
});
