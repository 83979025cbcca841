/**
 * The demo's sample repository: the seed's task list turned into script tasks
 * (templates/demo_tasks_list.md, shipped with the project), a build-only verify script and a
 * README. No outcomes log: the runner writes ai_docs/tasks/task_outcomes.md as tasks finish.
 */
import { readFile } from 'node:fs/promises';
import { DEFAULT_TASK_LIST_PATH, type ProjectConfig } from '../domain/projectConfig.ts';

export const DEMO_PROJECT_ID = 'demo';
export const DEMO_TEMPLATE = new URL('../../templates/demo_tasks_list.md', import.meta.url);

/** Build-only check: every shell script in the tree parses. Fast, deterministic, needs only sh. */
export const VERIFY_SCRIPT = `#!/bin/sh
# Build-only verify for the DevTeam Runner demo: every shell script must parse.
set -e
n=0
for f in $(find . -name '*.sh' -not -path './.git/*' | sort); do sh -n "$f"; n=$((n + 1)); done
echo "build ok: $n shell scripts parse"
`;

const README = `# DevTeam Runner demo project

Created by \`devteam demo\`. The runner works through \`${DEFAULT_TASK_LIST_PATH}\` with three
lanes: every task whose dependencies are done runs in its own worktree, and a merge train lands
them on \`main\` one at a time (tasks 5.1–5.5 declare the file they share, so they never run
together). Each task's \`sh\` block is its change, \`sh verify.sh\` is the build-only check, and the
evidence of every finished task lands in \`ai_docs/tasks/task_outcomes.md\`.
`;

export async function sampleRepoFiles(): Promise<Record<string, string>> {
  return {
    [DEFAULT_TASK_LIST_PATH]: await readFile(DEMO_TEMPLATE, 'utf8'),
    'verify.sh': VERIFY_SCRIPT,
    'README.md': README,
  };
}

/** The initialize body for the demo: local sandbox, script agent, `sh verify.sh`, three lanes. */
export function demoProjectConfig(repoUrl: string): ProjectConfig {
  return {
    projectId: DEMO_PROJECT_ID,
    repo: { url: repoUrl, branch: 'main' },
    verify: { command: ['sh', 'verify.sh'], timeoutSec: 60 },
    agent: { kind: 'script', timeoutSec: 60 },
    sandbox: { kind: 'local' },
    parallelism: 3,
  };
}
