/**
 * createProjectActors: the machine's steps for one project, made of its infra adapters (git
 * workspace, sandbox, agent), the database and the clock — the "activities" of the workflow.
 * Every step keeps the contract in ./steps.ts (idempotent, cancellable, no secrets out).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DEFAULT_OUTCOMES_LOG_PATH, DEFAULT_TASK_LIST_PATH } from '../domain/projectConfig.ts';
import { doneTaskIdsFromOutcomes, parseOutcomes, recordOutcome, type OutcomeFields } from '../domain/outcomesLog.ts';
import { buildPrompt, shellQuote } from '../domain/prompt.ts';
import { parseTaskList, selectNext, type Task } from '../domain/taskList.ts';
import { freeTaskBranchName, TASK_BRANCH_NAMESPACES, taskSlug } from '../domain/gitRefs.ts';
import type * as M from '../machines/project.machine.ts';
import type { Config } from '../infra/config.ts';
import type { Clock } from '../infra/clock.ts';
import type { Database } from '../infra/db/orm.ts';
import { projectRepository } from '../infra/db/projectRepository.ts';
import type { Logger } from '../infra/logger.ts';
import { GitError, type IntegrateArgs, type OutcomeFacts } from '../infra/git/types.ts';
import { checkTools, requiredTools } from '../infra/sandbox/toolCheck.ts';
import { classifyText } from '../infra/agents/cli/classify.ts';
import { createLineSplitter, TailBuffer } from '../infra/sandbox/lines.ts';
import type { OutputStream } from '../infra/sandbox/types.ts';
import type { Hub } from './hub.ts';
import { createProjectAdapters, type ProjectAdapters } from './project/adapters.ts';
import type { ProjectRecord } from './registry.ts';
import type { ProjectSteps, StepContext } from './steps.ts';
import { RUNNER_VERSION } from './version.ts';

export const TEMPLATE_PATH = 'templates/tasks_list.md';
/** The runner's private per-task directory (relative to the workspace root, outside every worktree). */
function runnerDirOf(worktree: string): string {
  return `runner/${worktree.slice(worktree.lastIndexOf('/') + 1)}`;
}
const FEEDBACK_TAIL = 8 * 1024;

export interface ProjectActorDeps {
  project: ProjectRecord;
  db: Database;
  hub: Hub;
  logger: Logger;
  clock: Clock;
  config: Config;
  env?: Record<string, string | undefined>;
  /** Built from the project config unless given (tests). */
  adapters?: ProjectAdapters;
  /** Called right before any push (multi-node: re-check the lease). */
  beforePush?: () => Promise<void>;
  /** Observes verify durations (metrics). */
  onVerify?: (seconds: number, ok: boolean) => void;
}

export function createProjectActors(deps: ProjectActorDeps): ProjectSteps {
  const a = deps.adapters ?? createProjectAdapters(deps.project.config, { config: deps.config, logger: deps.logger, env: deps.env });
  const { config, git, sandbox, agent, artifacts, redact } = a;
  const projectId = config.projectId;
  const repo = projectRepository(deps.db);
  const taskListPath = config.taskList?.path ?? DEFAULT_TASK_LIST_PATH;
  const outcomesPath = config.outcomesLog?.path ?? DEFAULT_OUTCOMES_LOG_PATH;
  let needsSync = true;
  let lastHead: string | null = null;
  let parsed: { text: string; list: ReturnType<typeof parseTaskList> } | null = null;
  /** The prompt file currently holds the prompt of this `taskId:attempt` (built by PREP). */
  let promptOf: { key: string; sha256: string; branch: string; promptPath: string } | null = null;
  /** Integration arguments of the task being integrated/recorded (the same for both steps). */
  let integrating: { key: string; args: IntegrateArgs } | null = null;

  const branches = new Map<string, string>();
  /**
   * The task branch: fixed at the task's first PREP (a later title change keeps it), in a namespace
   * that collides with no branch the remote already has.
   */
  async function branchFor(t: Task, signal?: AbortSignal): Promise<string> {
    let b = branches.get(t.id);
    if (b) return b;
    const recorded = await repo.taskBranch(projectId, t.id);
    if (recorded) b = recorded;
    else {
      const free = freeTaskBranchName(t.id, taskSlug(t.title), await git.remoteBranches(signal));
      if (!free) throw new GitError(`every task-branch name for ${t.id} is taken on the remote (${TASK_BRANCH_NAMESPACES.join('/, ')}/)`, 'git');
      b = free;
    }
    branches.set(t.id, b);
    return b;
  }

  async function loadTasks(): Promise<{ tasks: ReturnType<typeof parseTaskList>; outcomes: string | null } | null> {
    const text = await git.readAtTarget(taskListPath);
    if (text === null) return null;
    if (parsed?.text !== text) parsed = { text, list: parseTaskList(text) };
    return { tasks: parsed.list, outcomes: await git.readAtTarget(outcomesPath) };
  }

  async function task(taskId: string): Promise<{ task: Task; outcomes: string | null; all: Task[] }> {
    const loaded = await loadTasks();
    const t = loaded?.tasks.tasks.find((x) => x.id === taskId);
    if (!loaded || !t) throw new Error(`task ${taskId} is no longer in ${taskListPath}`);
    return { task: t, outcomes: loaded.outcomes, all: loaded.tasks.tasks };
  }

  async function prompt(i: M.TaskStepInput): Promise<{ sha256: string; branch: string; promptPath: string }> {
    const { task: t, outcomes, all } = await task(i.taskId);
    const entries = outcomes ? parseOutcomes(outcomes) : new Map();
    const built = buildPrompt({
      projectId,
      task: { id: t.id, title: t.title, body: t.body },
      attempt: i.attempt,
      dependencies: t.dependencies.map((d) => ({
        id: d,
        title: all.find((x) => x.id === d)?.title ?? d,
        outcome: entries.get(d)?.fields.outputsSummary ?? null,
      })),
      verifyCommand: config.verify.command,
      files: await git.listFilesAtTarget(),
      feedback: i.feedback,
    });
    const branch = await branchFor(t);
    const promptPath = `${runnerDirOf(git.taskTree(branch).worktree)}/prompt.md`;
    const file = join(git.root, promptPath);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, built.text);
    await artifacts.write(i.taskId, i.attempt, 'prompt.md', built.text, 'head');
    promptOf = { key: `${i.taskId}:${i.attempt}`, sha256: built.sha256, branch, promptPath };
    return promptOf;
  }

  /** Streams sandbox output to the live log, keeping a capped transcript. */
  function transcript(ctx: StepContext) {
    const buf = new TailBuffer(256 * 1024);
    return {
      onLine: (stream: OutputStream, line: string) => {
        const safe = redact(line);
        buf.push(`${safe}\n`);
        ctx.log(stream, safe);
      },
      text: () => buf.toString(),
    };
  }

  async function runRow(i: M.TaskStepInput): Promise<{ agent: M.AgentInfo | null; verify: M.VerifyInfo | null; artifacts: string[] }> {
    const r = await repo.attemptRecord(projectId, i.taskId, i.attempt);
    return { agent: r.agent as M.AgentInfo | null, verify: r.verify as M.VerifyInfo | null, artifacts: r.artifacts };
  }

  async function integrateArgs(i: M.TaskStepInput): Promise<IntegrateArgs> {
    const key = `${i.taskId}:${i.attempt}`;
    if (integrating?.key === key) return integrating.args;
    const { task: t } = await task(i.taskId);
    const run = await runRow(i);
    const branch = await branchFor(t);
    const fields: OutcomeFields = {
      outputsSummary: `Task ${t.id} "${t.title}" implemented by the ${config.agent.kind} agent on attempt ${i.attempt}.${run.agent?.diffstat ? ` ${run.agent.diffstat}` : ''}`,
      validationEvidence: run.verify
        ? `\`${shellQuote(config.verify.command)}\` exited ${run.verify.exitCode} in ${(run.verify.durationMs / 1000).toFixed(2)}s`
        : 'verify result not recorded',
      verificationNotes: `Build-only verify; attempt ${i.attempt}${i.attempt > 1 ? ` (earlier attempts failed verification and were retried with their output as feedback)` : ''}.`,
      artifacts: '',
      executor: `${config.agent.kind} agent${config.agent.kind === 'aider' && config.agent.model ? ` (model ${config.agent.model})` : ''}; devteam-runner ${RUNNER_VERSION}; node ${process.version}`,
      timestamp: '',
    };
    /** Only what exists on the remote is cited: the commit, and the task branch when it holds it. */
    const withFacts = (f: OutcomeFacts): OutcomeFields => ({
      ...fields,
      artifacts: `commit ${f.taskCommit.slice(0, 12)}${f.branchOnRemote ? `; branch ${branch}` : ''}; runner artifacts of attempt ${i.attempt}: ${run.artifacts.join(', ') || 'none'}`,
      timestamp: f.committedAt,
    });
    const args: IntegrateArgs = {
      taskId: t.id,
      taskTitle: t.title,
      taskBranch: branch,
      commitMessage: `${t.id} ${t.title}`,
      outcomesPath,
      renderOutcomes: (current, facts) =>
        recordOutcome(current, { id: t.id, title: t.title, heading: t.heading, phase: t.phase ? { heading: t.phase.heading, number: t.phase.number } : null }, withFacts(facts)),
    };
    integrating = { key, args };
    return args;
  }

  return {
    async syncRepo(_i, ctx) {
      if (a.missingToken) throw new GitError(`environment variable ${a.missingToken} (repo.tokenEnv) is not set on the runner`, 'auth');
      const r = await git.sync(ctx.signal);
      needsSync = false;
      lastHead = r.headOid;
      ctx.log('runner', `${r.cloned ? 'cloned' : 'fetched'} ${config.repo.branch} at ${r.headOid.slice(0, 12)}`);
      return { headOid: r.headOid };
    },

    async provisionSandbox(_i, ctx) {
      const r = await sandbox.ensure(ctx.signal);
      ctx.log('runner', `${sandbox.kind} sandbox ${r.created ? 'created' : 'reused'} (${r.id.slice(0, 12)})`);
      return { kind: sandbox.kind };
    },

    async checkTools(_i, ctx) {
      return { tools: await checkTools(sandbox, requiredTools(config, agent), ctx.signal) };
    },

    async selectTask(i, ctx) {
      if (needsSync) {
        lastHead = (await git.sync(ctx.signal)).headOid;
        needsSync = false;
      }
      const loaded = await loadTasks();
      // Going idle/awaiting: the next select is a wake-up and must fetch first.
      if (!loaded) {
        needsSync = true;
        ctx.log('runner', `no task list at ${taskListPath}; see the default template ${TEMPLATE_PATH}`);
        return { kind: 'noTaskList', templatePath: TEMPLATE_PATH };
      }
      const done = loaded.outcomes ? doneTaskIdsFromOutcomes(loaded.outcomes) : new Set<string>();
      const sel = selectNext(loaded.tasks, { doneIds: done, skippedIds: i.skippedTaskIds });
      const progress = { completedTaskIds: sel.completedTaskIds, blockedTaskIds: sel.blockedTaskIds, counts: sel.counts };
      if (!sel.next) {
        needsSync = true;
        return { kind: 'none', ...progress };
      }
      const nextAttempt = (await repo.maxAttempt(projectId, sel.next.id)) + 1;
      return { kind: 'task', task: { id: sel.next.id, title: sel.next.title, nextAttempt }, ...progress };
    },

    async prepareTask(i, ctx) {
      const { task: t } = await task(i.taskId); // the task must still exist before the tree is touched
      const branch = await branchFor(t, ctx.signal);
      await git.prepareTask(branch, ctx.signal);
      const p = await prompt(i);
      ctx.log('runner', `task ${i.taskId} attempt ${i.attempt}: branch ${branch}, prompt ${p.sha256.slice(0, 12)}`);
      return { promptSha256: p.sha256, branch: p.branch, artifacts: ['prompt.md'] };
    },

    async runAgent(i, ctx) {
      // PREP wrote this attempt's prompt; a retry (or a restart) rebuilds it with the feedback.
      const p = promptOf?.key === `${i.taskId}:${i.attempt}` ? promptOf : await prompt(i);
      const { task: t } = await task(i.taskId);
      const out = transcript(ctx);
      const timeoutMs = (config.agent.timeoutSec ?? 1800) * 1000;
      const tree = git.taskTree(p.branch);
      await git.setIgnored(agent.ignoredPaths?.() ?? []);
      // A re-run of this attempt (crash, PAUSE/RESUME, shutdown) starts from the tree it first started from.
      if ((await git.attemptCheckpoint(p.branch, `a${i.attempt}`)) === 'restored') ctx.log('runner', `task ${i.taskId} attempt ${i.attempt} starts again from its recorded tree`);
      const r = await agent.run({
        sandbox,
        cwd: tree.worktree,
        runnerDir: runnerDirOf(tree.worktree),
        promptPath: p.promptPath,
        workspaceDir: git.root,
        task: { id: t.id, title: t.title, body: t.body },
        attempt: i.attempt,
        timeoutMs,
        signal: ctx.signal,
        onLine: out.onLine,
      });
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const summary = await git.workingTreeSummary(p.branch);
      await artifacts.write(i.taskId, i.attempt, 'agent.log', out.text());
      await artifacts.write(i.taskId, i.attempt, 'diff.patch', summary.patch, 'head');
      const e = r.exec;
      const info: M.AgentInfo = { kind: config.agent.kind, exitCode: e.exitCode, durationMs: e.durationMs, diffstat: summary.diffstat };
      const names = ['prompt.md', 'agent.log', 'diff.patch'];
      const failed = e.exitCode !== 0 || e.timedOut;
      // Doing nothing is not success, unless the task says no change is expected (`Changes: none`).
      const idle = summary.changedFiles.length === 0 && !expectsNoChanges(t);
      if (!failed && !idle) return { ok: true, agent: info, promptSha256: p.sha256, artifacts: names };
      const base = { ok: false as const, agent: info, promptSha256: p.sha256, artifacts: names };
      const said = redact(`${e.stdoutTail}\n${e.stderrTail}`);
      // What the agent printed tells a person's problem (bad key, quota, unknown model) from a hard task.
      const verdict = config.agent.kind === 'script' ? null : classifyText(said);
      if (verdict?.class === 'permanent') {
        const error = `the agent cannot work until a person acts (${verdict.reason.replace('_', ' ')}): ${verdict.detail}`;
        return { ...base, permanent: true, error, feedback: error };
      }
      if (verdict?.class === 'transient') {
        // Provider or network trouble: back off and run the same attempt again (it spends no attempt).
        throw Object.assign(new Error(`agent hit a transient provider error (${verdict.reason}): ${verdict.detail}`), { transient: true });
      }
      const ends = tail(said.trim(), 2048);
      if (!failed) return { ...base, error: 'the agent made no changes', feedback: `the agent made no changes; its output ends:\n${ends}` };
      const why = e.timedOut ? `agent timed out after ${timeoutMs / 1000}s` : e.oom ? 'agent was killed (out of memory, exit 137)' : `agent exited ${e.exitCode ?? e.signal}`;
      return { ...base, error: why, feedback: tail(redact(`${why}\n${e.stderrTail || e.stdoutTail}`)) };
    },

    async runVerify(i, ctx) {
      const out = transcript(ctx);
      const timeoutMs = (config.verify.timeoutSec ?? 600) * 1000;
      const { task: t } = await task(i.taskId);
      const e = await sandbox.exec(config.verify.command, { timeoutMs, cwd: git.taskTree(await branchFor(t)).worktree, signal: ctx.signal, onLine: out.onLine });
      if (ctx.signal.aborted) throw ctx.signal.reason;
      await artifacts.write(i.taskId, i.attempt, 'verify.log', out.text());
      const ok = e.exitCode === 0 && !e.timedOut;
      deps.onVerify?.(e.durationMs / 1000, ok);
      const verify: M.VerifyInfo = { ok, exitCode: e.exitCode, durationMs: e.durationMs, outputTail: tail(redact(out.text()), 4096), timedOut: e.timedOut };
      if (ok) return { ok: true, verify, artifacts: ['verify.log'] };
      const cmd = shellQuote(config.verify.command);
      const lastLines = redact((e.stderrTail || e.stdoutTail).trimEnd().split('\n').slice(-5).join('\n'));
      const error = e.timedOut ? `verify \`${cmd}\` timed out after ${timeoutMs / 1000}s` : `verify \`${cmd}\` exited ${e.exitCode ?? e.signal}: ${lastLines}`;
      return { ok: false, verify, artifacts: ['verify.log'], error, feedback: tail(redact(out.text())) };
    },

    async integrate(i, ctx) {
      const r = await git.integrate(await integrateArgs(i), ctx.signal);
      ctx.log('runner', r.alreadyIntegrated ? `task ${i.taskId} already integrated` : `merged ${i.taskId} into ${config.repo.branch} (${r.targetOid.slice(0, 12)})`);
      return { targetOid: r.targetOid, alreadyIntegrated: r.alreadyIntegrated };
    },

    async recordOutcome(i, ctx) {
      await deps.beforePush?.();
      const args = await integrateArgs(i);
      const r = await git.publish(args, ctx.signal);
      lastHead = r.targetOid;
      await git.removeTask(args.taskBranch);
      ctx.log('runner', r.pushed ? `pushed ${config.repo.branch} (${r.targetOid.slice(0, 12)}${r.retries ? `, ${r.retries} non-fast-forward retries` : ''})` : `remote already has ${i.taskId}`);
      return { pushed: r.pushed };
    },

    async cleanup() {
      await sandbox.remove();
    },

    watchRemote(_i, ctx, wake) {
      const every = deps.config.DEVTEAM_IDLE_FETCH_SEC * 1000;
      void (async () => {
        while (!ctx.signal.aborted) {
          try {
            await ctx.clock.sleep(every, ctx.signal);
            const head = await git.remoteHead(ctx.signal);
            if (head !== lastHead) {
              ctx.logger.info({ head }, 'remote target moved; waking');
              needsSync = true;
              lastHead = head;
              wake('REPO_UPDATED');
              return;
            }
          } catch (err) {
            if (ctx.signal.aborted) return;
            ctx.logger.warn({ err: (err as Error).message }, 'idle fetch failed');
          }
        }
      })();
      return () => undefined;
    },
  };
}

/** The task says it changes no files (`Changes: none`); such an attempt may leave the tree as it was. */
function expectsNoChanges(t: Task): boolean {
  return (t as Task & { expectsNoChanges?: boolean }).expectsNoChanges === true;
}

function tail(text: string, bytes = FEEDBACK_TAIL): string {
  const b = Buffer.from(text, 'utf8');
  return b.length <= bytes ? text : b.subarray(b.length - bytes).toString('utf8').replace(/^\uFFFD+/, '');
}
