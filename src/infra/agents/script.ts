/**
 * The `script` agent: runs the task body's first fenced ```sh / ```bash / ```shell block.
 * Deterministic, no model — for mechanical tasks and for exercising the runner end to end.
 *
 * The script is written to `<runnerDir>/task.sh` and run as `sh <file>` rather than
 * `sh -c <script>`, so a long script never hits argv size limits (and shows up in `ps` as
 * a short command line). It always runs under `sh`, including ```bash blocks.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AgentConfig } from '../../domain/projectConfig.ts';
import { attemptTimeoutMs, hostWorkspace, runnerDir, sandboxPath, type AgentDeps } from './command.ts';
import { AgentError, type Agent, type AgentRunResult } from './types.ts';

/** The script's file name inside the runner's per-task directory. */
export const SCRIPT_FILE = 'task.sh';
const SCRIPT_LANGS = new Set(['sh', 'bash', 'shell']);

/**
 * The first fenced code block whose info string starts with sh/bash/shell, or null.
 * CommonMark fences: ``` or ~~~ (3+), up to 3 spaces of indent, closed by the same
 * character at least as long. Blocks of other languages are skipped whole, so a ```sh
 * example nested inside a ```markdown block is not picked up.
 */
export function extractScript(body: string): string | null {
  const lines = body.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[i]);
    if (!open) continue;
    const fence = open[1];
    const lang = open[2].toLowerCase();
    const content: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(lines[j]);
      if (close && close[1][0] === fence[0] && close[1].length >= fence.length) break;
      content.push(lines[j]);
    }
    if (SCRIPT_LANGS.has(lang)) return `${content.join('\n')}\n`;
    i = j; // skip the whole non-script block
  }
  return null;
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
        signal: args.signal,
        onLine: args.onLine,
      });
      return { exec, executor: { kind: 'script', version: null, model: null } };
    },
  };
}
