/**
 * createProjectSteps: one project's steps — the workflow's activities — made by a factory from the
 * project's infra adapters (git workspace, sandbox, agent, artifacts), its tables and the clock.
 * Stateless: every step reads what it needs (the workspace on disk, the database), so a step
 * re-run after a crash behaves like its first run. Every step keeps the contract in ./steps.ts.
 */
import { doneTaskIdsFromOutcomes } from '../domain/outcomesLog.ts';
import { planDispatch } from '../domain/dispatch.ts';
import { selectNext, type Task } from '../domain/taskList.ts';
import { shellQuote } from '../domain/prompt.ts';
import type * as P from '../machines/project.machine.ts';
import type * as T from '../machines/task.machine.ts';
import { classifyText } from '../infra/agents/cli/classify.ts';
import type { Config } from '../infra/config.ts';
import type { Clock } from '../infra/clock.ts';
import type { Database } from '../infra/db/orm.ts';
import { projectRepository } from '../infra/db/projectRepository.ts';
import { GitError } from '../infra/git/types.ts';
import type { Logger } from '../infra/logger.ts';
import { TailBuffer } from '../infra/sandbox/lines.ts';
import { checkTools, requiredTools } from '../infra/sandbox/toolCheck.ts';
import type { OutputStream } from '../infra/sandbox/types.ts';
import type { Hub } from './hub.ts';
import { createProjectAdapters, type ProjectAdapters } from './project/adapters.ts';
import { runnerDirOf, taskFiles } from './project/taskFiles.ts';
import type { ProjectRecord } from './registry.ts';
import type { ProjectSteps, StepContext } from './steps.ts';

export const TEMPLATE_PATH = 'templates/tasks_list.md';
const FEEDBACK_TAIL = 8 * 1024;

export interface ProjectStepDeps {
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

export function createProjectSteps(deps: ProjectStepDeps): ProjectSteps {
  const a = deps.adapters ?? createProjectAdapters(deps.project.config, { config: deps.config, logger: deps.logger, env: deps.env });
  const { config, git, sandbox, agent, artifacts, redact } = a;
  const projectId = config.projectId;
  const repo = projectRepository(deps.db);
  const files = taskFiles({ adapters: a, repo });
  const parallelism = git.engine === 'native' ? (config.parallelism ?? 1) : 1;

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

  /** The verify command in a task's worktree; its result as the task machine records it. */
  async function verifyIn(taskId: string, attempt: number, worktree: string, ctx: StepContext): Promise<T.VerifyOutput> {
    const out = transcript(ctx);
    const timeoutMs = (config.verify.timeoutSec ?? 600) * 1000;
    const e = await sandbox.exec(config.verify.command, { timeoutMs, cwd: worktree, signal: ctx.signal, onLine: out.onLine });
    if (ctx.signal.aborted) throw ctx.signal.reason;
    await artifacts.write(taskId, attempt, 'verify.log', out.text());
    const ok = e.exitCode === 0 && !e.timedOut;
    deps.onVerify?.(e.durationMs / 1000, ok);
    const verify: T.VerifyInfo = { ok, exitCode: e.exitCode, durationMs: e.durationMs, outputTail: tail(redact(out.text()), 4096), timedOut: e.timedOut };
    if (ok) return { ok: true, verify, artifacts: ['verify.log'] };
    const cmd = shellQuote(config.verify.command);
    const lastLines = redact((e.stderrTail || e.stdoutTail).trimEnd().split('\n').slice(-5).join('\n'));
    const error = e.timedOut ? `verify \`${cmd}\` timed out after ${timeoutMs / 1000}s` : `verify \`${cmd}\` exited ${e.exitCode ?? e.signal}: ${lastLines}`;
    return { ok: false, verify, artifacts: ['verify.log'], error, feedback: tail(redact(out.text())) };
  }

  return {
    async syncRepo(_i, ctx) {
      if (a.missingToken) throw new GitError(`environment variable ${a.missingToken} (repo.tokenEnv) is not set on the runner`, 'auth');
      const r = await git.sync(ctx.signal);
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

    async selectTasks(i, ctx) {
      await git.sync(ctx.signal); // what the remote has now (a wake-up, an upstream push)
      const { list, outcomes } = await files.load();
      if (!list) {
        ctx.log('runner', `no task list at ${files.taskListPath}; see the default template ${TEMPLATE_PATH}`);
        return { kind: 'noTaskList', templatePath: TEMPLATE_PATH };
      }
      const done = outcomes ? doneTaskIdsFromOutcomes(outcomes) : new Set<string>();
      const sel = selectNext(list, { doneIds: done, skippedIds: i.skippedTaskIds });
      const completed = new Set(sel.completedTaskIds);
      const byId = new Map(list.tasks.map((t) => [t.id, t]));
      const inFlight = await Promise.all(
        i.inFlight.map(async (id) => {
          const last = await repo.attemptRecord(projectId, id, await repo.maxAttempt(projectId, id));
          return { id, declared: byId.get(id)?.files ?? [], changed: (last.agent as T.AgentInfo | null)?.changedFiles ?? [] };
        }),
      );
      const ids = planDispatch({
        tasks: list.tasks.map((t) => ({ id: t.id, dependencies: t.dependencies, files: t.files })),
        doneIds: completed,
        skippedIds: new Set(sel.skippedTaskIds),
        blockedIds: new Set(sel.blockedTaskIds),
        inFlight,
        parallelism,
      });
      const start = await Promise.all(ids.map(async (id) => ({ id, title: byId.get(id)!.title, attempt: (await repo.maxAttempt(projectId, id)) + 1 })));
      return { kind: 'tasks', start, completedTaskIds: sel.completedTaskIds, blockedTaskIds: sel.blockedTaskIds, counts: sel.counts, at: new Date(ctx.clock.now()).toISOString() };
    },

    async prepareTask(i, ctx) {
      const { task: t } = await files.task(i.taskId); // the task must still exist before the tree is touched
      const branch = await files.branch(t, ctx.signal);
      const tree = await git.prepareTask(branch, ctx.signal);
      const p = await files.prompt(i, branch);
      ctx.log('runner', `task ${i.taskId} attempt ${i.attempt}: ${tree.worktree} on ${branch}, prompt ${p.sha256.slice(0, 12)}`);
      return { promptSha256: p.sha256, branch, artifacts: ['prompt.md'] };
    },

    async runAgent(i, ctx) {
      const { task: t } = await files.task(i.taskId);
      const branch = await files.branch(t, ctx.signal);
      const p = await files.prompt(i, branch); // the same bytes PREP wrote (feedback included)
      const out = transcript(ctx);
      const timeoutMs = (config.agent.timeoutSec ?? 1800) * 1000;
      const tree = git.taskTree(branch);
      await git.setIgnored(agent.ignoredPaths?.() ?? []);
      // A re-run of this attempt (crash, PAUSE/RESUME, shutdown) starts from the tree it first started from.
      if ((await git.attemptCheckpoint(branch, `a${i.attempt}`)) === 'restored') ctx.log('runner', `task ${i.taskId} attempt ${i.attempt} starts again from its recorded tree`);
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
      const summary = await git.workingTreeSummary(branch);
      await artifacts.write(i.taskId, i.attempt, 'agent.log', out.text());
      await artifacts.write(i.taskId, i.attempt, 'diff.patch', summary.patch, 'head');
      const e = r.exec;
      const info: T.AgentInfo = { kind: config.agent.kind, exitCode: e.exitCode, durationMs: e.durationMs, diffstat: summary.diffstat, changedFiles: summary.changedFiles };
      const names = ['prompt.md', 'agent.log', 'diff.patch'];
      const failed = e.exitCode !== 0 || e.timedOut;
      // Doing nothing is not success, unless the task says no change is expected (`Changes: none`).
      const idle = summary.changedFiles.length === 0 && !t.expectsNoChanges;
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
      if (!failed) return { ...base, error: 'the agent made no changes', feedback: `the agent made no changes; its output ends:\n${tail(said.trim(), 2048)}` };
      const why = e.timedOut ? `agent timed out after ${timeoutMs / 1000}s` : e.oom ? 'agent was killed (out of memory, exit 137)' : `agent exited ${e.exitCode ?? e.signal}`;
      // The status names the cause a person would look for first: the last line the agent printed.
      const last = redact(e.stderrTail || e.stdoutTail).trim().split('\n').pop()?.trim().slice(0, 200);
      return { ...base, error: last ? `${why}: ${last}` : why, feedback: tail(redact(`${why}\n${e.stderrTail || e.stdoutTail}`)) };
    },

    async runVerify(i, ctx) {
      const { task: t } = await files.task(i.taskId);
      return verifyIn(i.taskId, i.attempt, git.taskTree(await files.branch(t, ctx.signal)).worktree, ctx);
    },

    async integrate(i, ctx) {
      const args = await files.integrateArgs(i);
      // The merge train: the task's change on top of the current target; a target that moved since
      // the task's base means the merged tree is verified again before anything lands.
      const r = await git.rebaseTask(args, ctx.signal);
      if (r.kind === 'conflict') {
        ctx.log('runner', `task ${i.taskId} conflicts with ${config.repo.branch} in ${r.paths.join(', ')}: sent back to work on the new head`);
        return { kind: 'rework', reason: `merge conflict in ${r.paths.join(', ')}`, feedback: `Your change conflicts with ${config.repo.branch}, which moved since you started (other tasks landed). Redo the task on the current ${config.repo.branch}. The conflicts:\n${tail(redact(r.hunks))}` };
      }
      if (r.kind === 'rebased') {
        ctx.log('runner', `task ${i.taskId} replayed onto ${config.repo.branch} ${r.base.slice(0, 12)}: verifying the merged tree`);
        const v = await ctx.withSlot(() => verifyIn(i.taskId, i.attempt, git.taskTree(args.taskBranch).worktree, ctx));
        if (!v.ok) return { kind: 'rework', reason: `the merged tree fails verify: ${v.error}`, feedback: `Merged onto the current ${config.repo.branch}, your change breaks the build:\n${v.feedback}` };
      }
      const m = await git.integrate(args, ctx.signal);
      ctx.log('runner', m.alreadyIntegrated ? `task ${i.taskId} already integrated` : `merged ${i.taskId} into ${config.repo.branch} (${m.targetOid.slice(0, 12)})`);
      return { kind: 'merged', targetOid: m.targetOid, alreadyIntegrated: m.alreadyIntegrated };
    },

    async recordOutcome(i, ctx) {
      await deps.beforePush?.();
      const args = await files.integrateArgs(i);
      const r = await git.publish(args, ctx.signal);
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
        let known: string | null = null;
        while (!ctx.signal.aborted) {
          try {
            known ??= await git.remoteHead(ctx.signal);
            await ctx.clock.sleep(every, ctx.signal);
            const head = await git.remoteHead(ctx.signal);
            if (head !== known) {
              ctx.logger.info({ head }, 'remote target moved; waking');
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


function tail(text: string, bytes = FEEDBACK_TAIL): string {
  const b = Buffer.from(text, 'utf8');
  return b.length <= bytes ? text : b.subarray(b.length - bytes).toString('utf8').replace(/^\uFFFD+/, '');
}
