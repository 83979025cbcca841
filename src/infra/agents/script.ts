/**
 * The `script` agent: runs the task body's first fenced ```sh / ```bash / ```shell block.
 * Deterministic, no model — for mechanical tasks and for exercising the runner end to end.
 *
 * The script is written to `<runnerDir>/task.sh` and run as `sh <file>` rather than
 * `sh -c <script>`, so a long script never hits argv size limits (and shows up in `ps` as
 * a short command line). It always runs under `sh`, including ```bash blocks.
 *
 * The script's environment adds DEVTEAM_TASK_ID, DEVTEAM_ATTEMPT (1-based) and
 * DEVTEAM_PROMPT_FILE (the prompt the runner wrote for this attempt, with the previous attempt's
 * verify tail or merge-conflict hunks under its feedback section), so a script can react to a
 * retry the way a coding agent would.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AgentConfig } from '../../domain/projectConfig.ts';
import { firstScript } from '../../domain/taskList.ts';
import { attemptTimeoutMs, hostWorkspace, runnerDir, sandboxPath, type AgentDeps } from './command.ts';
import { AgentError, type Agent, type AgentRunResult } from './types.ts';

/** The script's file name inside the runner's per-task directory. */
export const SCRIPT_FILE = 'task.sh';

/**
 * The first fenced code block whose info string's language is sh, bash or shell (any case), or
 * null; its content with line endings as `\n` and a final `\n`. Delegates to the task list's
 * markdown parser (`firstScript`, the same code path as `Task.script`), so the script agent and
 * the parsed task list can never disagree: CommonMark fences (§4.5) in list items and block
 * quotes count; a ```sh example nested inside a ```markdown block, an HTML comment or an HTML
 * block is not a block of its own; an unclosed fence runs to the end of its container.
 * @throws TaskListError `too_complex` for a body past the parser's linear-time bounds.
 */
export function extractScript(body: string): string | null {
  return firstScript(body)?.code ?? null;
}

export function createScriptAgent(config: Extract<AgentConfig, { kind: 'script' }>, deps: AgentDeps): Agent {
  const log = deps.logger.child({ agent: 'script' });
  return {
    kind: 'script',
    requiredTools: () => ['sh'],
    async run(args): Promise<AgentRunResult> {
      const script = extractScript(args.task.body);
      if (script === null) {
        throw new AgentError(
          `task ${args.task.id} ("${args.task.title}") has no \`\`\`sh, \`\`\`bash or \`\`\`shell block for the script agent to run`,
          'no_script',
        );
      }
      const rel = path.posix.join(runnerDir(args), SCRIPT_FILE);
      const file = path.join(hostWorkspace(args), rel);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, script, { mode: 0o644 });
      log.info({ taskId: args.task.id, attempt: args.attempt, scriptBytes: Buffer.byteLength(script) }, 'running task script');
      const exec = await args.sandbox.exec(['sh', sandboxPath(args, rel)], {
        timeoutMs: attemptTimeoutMs(args, config),
        cwd: args.cwd,
        env: {
          DEVTEAM_TASK_ID: args.task.id,
          DEVTEAM_ATTEMPT: String(args.attempt),
          DEVTEAM_PROMPT_FILE: sandboxPath(args, args.promptPath),
        },
        signal: args.signal,
        onLine: args.onLine,
      });
      return { exec, executor: { kind: 'script', version: null, model: null } };
    },
  };
}
