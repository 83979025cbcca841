/**
 * RETRY / SKIP for one lane: POST …/retry|skip/<projectId> with `{ "taskId": "<id>" }` as the JSON
 * body. The typed client's `command()` sends no body, so this goes through the same client (its
 * auth, problem+json errors and result shape) with a fetch that adds the body.
 */
import { createClient, type CommandResult } from '../client/index.ts';
import type { LaneCommand } from './components/lanes.ts';

export function sendLaneCommand(opts: { baseUrl: string; token?: string }, projectId: string, cmd: LaneCommand, taskId: string): Promise<CommandResult> {
  const withBody: typeof fetch = (input, init) =>
    fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), 'content-type': 'application/json' }, body: JSON.stringify({ taskId }) });
  return createClient({ baseUrl: opts.baseUrl, token: opts.token, fetch: withBody }).command(projectId, cmd);
}
