/**
 * What a project's steps read about one task — the task list and outcomes log at the local target,
 * the task's branch, its prompt, its integration arguments — as stateless functions of the
 * project's adapters and tables. Nothing is cached between calls: a restarted step reads what the
 * first run read (the workspace on disk and the database are the state).
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { freeTaskBranchName, TASK_BRANCH_NAMESPACES, taskSlug } from '../../domain/gitRefs.ts';
import { parseOutcomes, recordOutcome, type OutcomeFields } from '../../domain/outcomesLog.ts';
import { DEFAULT_OUTCOMES_LOG_PATH, DEFAULT_TASK_LIST_PATH } from '../../domain/projectConfig.ts';
import { buildPrompt, shellQuote } from '../../domain/prompt.ts';
import { parseTaskList, type Task, type TaskList } from '../../domain/taskList.ts';
import type { ProjectRepository } from '../../infra/db/projectRepository.ts';
import { GitError, type IntegrateArgs, type OutcomeFacts } from '../../infra/git/types.ts';
import type { AgentInfo, VerifyInfo } from '../../machines/task.machine.ts';
import type { ProjectAdapters } from './adapters.ts';
import { RUNNER_VERSION } from '../version.ts';

/** The runner's private per-task directory (relative to the workspace root, outside every worktree). */
export function runnerDirOf(worktree: string): string {
  return `runner/${worktree.slice(worktree.lastIndexOf('/') + 1)}`;
}

export interface TaskFilesDeps {
  adapters: ProjectAdapters;
  repo: ProjectRepository;
}

/**
 * Parsed task lists by the sha-256 of their text. A pure function's memo, not state: a restarted
 * step that misses it parses the same text to the same list. Bounded to the last few lists
 * (a project's target moves rarely; a node runs few projects), so memory stays flat.
 */
const parsed = new Map<string, TaskList>();
const PARSED_MAX = 32;

/** `parseTaskList(text)` through the content-keyed memo. @throws TaskListError as parseTaskList. */
export function parseTaskListCached(text: string): TaskList {
  const key = createHash('sha256').update(text).digest('hex');
  const hit = parsed.get(key);
  if (hit) {
    parsed.delete(key);
    parsed.set(key, hit);
    return hit;
  }
  const list = parseTaskList(text);
  parsed.set(key, list);
  if (parsed.size > PARSED_MAX) parsed.delete(parsed.keys().next().value as string);
  return list;
}

export function taskFiles({ adapters: a, repo }: TaskFilesDeps) {
  const { config, git, artifacts } = a;
  const projectId = config.projectId;
  const taskListPath = config.taskList?.path ?? DEFAULT_TASK_LIST_PATH;
  const outcomesPath = config.outcomesLog?.path ?? DEFAULT_OUTCOMES_LOG_PATH;

  /** The task list and outcomes log at the local target; null list when the file is missing. */
  async function load(): Promise<{ list: TaskList | null; outcomes: string | null }> {
    const text = await git.readAtTarget(taskListPath);
    return { list: text === null ? null : parseTaskListCached(text), outcomes: await git.readAtTarget(outcomesPath) };
  }

  async function task(taskId: string): Promise<{ task: Task; outcomes: string | null; all: Task[] }> {
    const { list, outcomes } = await load();
    const t = list?.tasks.find((x) => x.id === taskId);
    if (!list || !t) throw new Error(`task ${taskId} is no longer in ${taskListPath}`);
    return { task: t, outcomes, all: list.tasks };
  }

  /**
   * The task branch: fixed at the task's first PREP (recorded in task_run; a later title change
   * keeps it), in a namespace that collides with no branch the remote already has.
   */
  async function branch(t: Task, signal?: AbortSignal): Promise<string> {
    const recorded = await repo.taskBranch(projectId, t.id);
    if (recorded) return recorded;
    const free = freeTaskBranchName(t.id, taskSlug(t.title), await git.remoteBranches(signal));
    if (!free) throw new GitError(`every task-branch name for ${t.id} is taken on the remote (${TASK_BRANCH_NAMESPACES.join('/, ')}/)`, 'git');
    return free;
  }

  /** Build and write the attempt's prompt (deterministic: the same task and tree give the same bytes). */
  async function prompt(i: { taskId: string; attempt: number; feedback: string | null }, branchName: string) {
    const { task: t, outcomes, all } = await task(i.taskId);
    const entries = outcomes ? parseOutcomes(outcomes) : new Map();
    const built = buildPrompt({
      projectId,
      task: { id: t.id, title: t.title, body: t.body },
      attempt: i.attempt,
      dependencies: t.dependencies.map((d) => ({ id: d, title: all.find((x) => x.id === d)?.title ?? d, outcome: entries.get(d)?.fields.outputsSummary ?? null })),
      verifyCommand: config.verify.command,
      files: await git.listFilesAtTarget(),
      feedback: i.feedback,
    });
    const promptPath = `${runnerDirOf(git.taskTree(branchName).worktree)}/prompt.md`;
    const file = join(git.root, promptPath);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, built.text);
    await artifacts.write(i.taskId, i.attempt, 'prompt.md', built.text, 'head');
    return { sha256: built.sha256, promptPath };
  }

  /** The integration arguments of one attempt (what integrate and record both use). */
  async function integrateArgs(i: { taskId: string; attempt: number }): Promise<IntegrateArgs> {
    const { task: t } = await task(i.taskId);
    const run = await repo.attemptRecord(projectId, i.taskId, i.attempt);
    const agentInfo = run.agent as AgentInfo | null;
    const verify = run.verify as VerifyInfo | null;
    const branchName = await branch(t);
    const fields: OutcomeFields = {
      outputsSummary: `Task ${t.id} "${t.title}" implemented by the ${config.agent.kind} agent on attempt ${i.attempt}.${agentInfo?.diffstat ? `\n${agentInfo.diffstat}` : ''}`,
      validationEvidence: verify ? `\`${shellQuote(config.verify.command)}\` exited ${verify.exitCode} in ${(verify.durationMs / 1000).toFixed(2)}s` : 'verify result not recorded',
      verificationNotes: `Build-only verify; attempt ${i.attempt}${i.attempt > 1 ? ' (earlier attempts failed and were retried with their output as feedback)' : ''}.`,
      artifacts: '',
      executor: `${config.agent.kind} agent${'model' in config.agent && config.agent.model ? ` (model ${config.agent.model})` : ''}; devteam-runner ${RUNNER_VERSION}; node ${process.version}`,
      timestamp: '',
    };
    /** Only what exists on the remote is cited: the commit, and the task branch when it holds it. */
    const withFacts = (f: OutcomeFacts): OutcomeFields => ({
      ...fields,
      artifacts: `commit ${f.taskCommit.slice(0, 12)}${f.branchOnRemote ? `; branch ${branchName}` : ''}; runner artifacts of attempt ${i.attempt}: ${run.artifacts.join(', ') || 'none'}`,
      timestamp: f.committedAt,
    });
    return {
      taskId: t.id,
      taskTitle: t.title,
      taskBranch: branchName,
      commitMessage: `${t.id} ${t.title}`,
      outcomesPath,
      renderOutcomes: (current, facts) =>
        recordOutcome(current, { id: t.id, title: t.title, heading: t.heading, phase: t.phase ? { heading: t.phase.heading, number: t.phase.number } : null }, withFacts(facts)),
    };
  }

  return { load, task, branch, prompt, integrateArgs, taskListPath, outcomesPath };
}
