import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { projectMachine, MACHINE_ID } from '../../src/machines/project.machine.ts';
import { acceptedCommands, toStatus } from '../../src/machines/status.ts';
import { agentOk, createHarness, nothing, task, toValue, verifyFail, verifyOk } from '../support/machineHarness.ts';

type H = ReturnType<typeof createHarness>;

async function boot(h: H) {
  h.actor.start();
  await h.settle('syncRepo', { headOid: 'abc' }, 'active.initializing.provisioningSandbox');
  await h.settle('provisionSandbox', { kind: 'local' }, 'active.initializing.checkingTools');
  await h.settle('checkTools', { tools: { git: '2.39' } }, 'active.selecting');
}

async function toExecuting(h: H, id = '1.1') {
  await h.settle('selectTask', task(id), 'active.preparing');
  await h.settle('prepareTask', { promptSha256: 'sha', branch: `devteam/${id}-x` }, 'active.waitingForSlot');
  await h.settle('acquireSlot', undefined, 'active.executing');
}

describe('project machine', () => {
  it('is registered as DEVTEAM_AUTOMATION', () => {
    expect(projectMachine.id).toBe(MACHINE_ID);
    expect(MACHINE_ID).toBe('DEVTEAM_AUTOMATION');
  });

  it('walks init → select → prep → slot → execute → verify → integrate → record → select → idle', async () => {
    const h = createHarness();
    await boot(h);
    expect(h.actor.getSnapshot().context.tools).toEqual({ git: '2.39' });
    await toExecuting(h);
    const agent = await h.call('runAgent');
    expect(agent.input).toEqual({ projectId: 'p1', taskId: '1.1', title: 'Task 1.1', attempt: 1, feedback: null });
    await h.settle('runAgent', agentOk, 'active.verifying');
    await h.settle('runVerify', verifyOk, 'active.integrating');
    await h.settle('integrate', { targetOid: 'def', alreadyIntegrated: false }, 'active.recording');
    await h.settle('recordOutcome', { pushed: true }, 'active.selecting');
    const s = h.actor.getSnapshot();
    expect(s.context.completedTaskIds).toEqual(['1.1']);
    expect(s.context.currentTask).toBeNull();
    await h.settle('selectTask', nothing(['1.1']), 'active.idle');
    expect(h.watchers.filter((w) => !w.stopped)).toHaveLength(1);
    expect(h.actor.getSnapshot().context.taskCounts).toEqual({ total: 1, done: 1, skipped: 0, remaining: 0 });
  });

  it('idle wakes on REPO_UPDATED and TASKS_CHANGED, and the watcher stops when it leaves', async () => {
    for (const type of ['REPO_UPDATED', 'TASKS_CHANGED'] as const) {
      const h = createHarness();
      await boot(h);
      await h.settle('selectTask', nothing([]), 'active.idle');
      h.actor.send({ type });
      expect(h.actor.getSnapshot().matches(toValue('active.selecting'))).toBe(true);
      expect(h.watchers[0]!.stopped).toBe(true);
    }
  });

  it('a watcher event (sendBack) wakes an idle project', async () => {
    const h = createHarness();
    await boot(h);
    await h.settle('selectTask', nothing([]), 'active.idle');
    h.watchers[0]!.sendBack({ type: 'REPO_UPDATED' });
    await h.reach('active.selecting');
  });

  it('no task list → awaitingTaskList with the template path; TASKS_CHANGED re-checks', async () => {
    const h = createHarness();
    await boot(h);
    await h.settle('selectTask', { kind: 'noTaskList', templatePath: 'templates/tasks_list.md' }, 'active.awaitingTaskList');
    expect(h.actor.getSnapshot().context.templatePath).toBe('templates/tasks_list.md');
    h.actor.send({ type: 'TASKS_CHANGED' });
    expect(h.actor.getSnapshot().matches(toValue('active.selecting'))).toBe(true);
    await h.settle('selectTask', task('1.1'), 'active.preparing');
    expect(h.actor.getSnapshot().context.templatePath).toBeNull();
  });

  it('verify failure → executing again with the failure as feedback, without re-preparing; passes on the 3rd attempt', async () => {
    const h = createHarness();
    await boot(h);
    await toExecuting(h);
    await h.settle('runAgent', agentOk, 'active.verifying');
    await h.settle('runVerify', verifyFail('first failure'), 'active.executing');
    let a = await h.call('runAgent');
    expect(a.input).toMatchObject({ attempt: 2, feedback: 'first failure' });
    await h.settle('runAgent', agentOk, 'active.verifying');
    await h.settle('runVerify', verifyFail('second failure'), 'active.executing');
    a = await h.call('runAgent');
    expect(a.input).toMatchObject({ attempt: 3, feedback: 'second failure' });
    await h.settle('runAgent', agentOk, 'active.verifying');
    await h.settle('runVerify', verifyOk, 'active.integrating');
    expect(h.calls.filter((c) => c.name === 'prepareTask')).toHaveLength(1);
  });

  it('a failed agent run counts as a failed attempt too', async () => {
    const h = createHarness();
    await boot(h);
    await toExecuting(h);
    await h.settle(
      'runAgent',
      { ok: false, agent: { kind: 'command', exitCode: 1, durationMs: 1, diffstat: '' }, error: 'agent exited 1', feedback: 'boom' },
      'active.executing',
    );
    expect((await h.call('runAgent')).input).toMatchObject({ attempt: 2, feedback: 'boom' });
  });

  it('halts after 1 + 2 failed attempts; RETRY gives a fresh budget with attempt numbers that keep counting', async () => {
    const h = createHarness();
    await boot(h);
    await toExecuting(h);
    for (let i = 1; i <= 3; i++) {
      await h.settle('runAgent', agentOk, 'active.verifying');
      await h.settle('runVerify', verifyFail(`fail ${i}`), i < 3 ? 'active.executing' : 'halted');
    }
    let s = h.actor.getSnapshot();
    expect(s.context.currentTask).toEqual({ id: '1.1', title: 'Task 1.1', attempt: 3 });
    expect(s.context.lastError).toContain('fail 3');
    expect(s.context.haltedFrom).toBe('verifying');
    expect(acceptedCommands(s)).toEqual(['STOP', 'RETRY', 'SKIP']);

    h.actor.send({ type: 'RETRY' });
    s = h.actor.getSnapshot();
    expect(s.matches(toValue('active.preparing'))).toBe(true);
    expect(s.context.currentTask!.attempt).toBe(4);
    expect(s.context.lastError).toBeNull();
    expect((await h.call('prepareTask')).input.attempt).toBe(4);
    await h.settle('prepareTask', { promptSha256: 's', branch: 'b' }, 'active.waitingForSlot');
    await h.settle('acquireSlot', undefined, 'active.executing');
    for (let i = 4; i <= 6; i++) {
      expect((await h.call('runAgent')).input.attempt).toBe(i);
      await h.settle('runAgent', agentOk, 'active.verifying');
      await h.settle('runVerify', verifyFail(`fail ${i}`), i < 6 ? 'active.executing' : 'halted');
    }
  });

  it('SKIP marks the task skipped and selects the next', async () => {
    const h = createHarness();
    await boot(h);
    await toExecuting(h);
    await h.fail('runAgent', new Error('sandbox exploded'), 'halted');
    expect(h.actor.getSnapshot().context.lastError).toBe('executing failed: sandbox exploded');
    h.actor.send({ type: 'SKIP' });
    const s = h.actor.getSnapshot();
    expect(s.matches(toValue('active.selecting'))).toBe(true);
    expect(s.context.skippedTaskIds).toEqual(['1.1']);
    expect(s.context.currentTask).toBeNull();
    expect((await h.call('selectTask')).input.skippedTaskIds).toEqual(['1.1']);
  });

  it('SKIP is refused when no task is current (e.g. halted while syncing)', async () => {
    const h = createHarness();
    h.actor.start();
    await h.fail('syncRepo', new Error('remote unreachable'), 'halted');
    expect(h.actor.getSnapshot().can({ type: 'SKIP' })).toBe(false);
    expect(acceptedCommands(h.actor.getSnapshot())).toEqual(['STOP', 'RETRY']);
  });

  const failingSteps: Array<[string, string, (h: H) => Promise<void>]> = [
    ['syncRepo', 'active.initializing.syncingRepo', async () => {}],
    ['provisionSandbox', 'active.initializing.provisioningSandbox', async (h) => void (await h.settle('syncRepo', { headOid: 'a' }))],
    ['selectTask', 'active.selecting', boot],
    ['integrate', 'active.integrating', async (h) => {
      await boot(h);
      await toExecuting(h);
      await h.settle('runAgent', agentOk, 'active.verifying');
      await h.settle('runVerify', verifyOk, 'active.integrating');
    }],
    ['recordOutcome', 'active.recording', async (h) => {
      await boot(h);
      await toExecuting(h);
      await h.settle('runAgent', agentOk, 'active.verifying');
      await h.settle('runVerify', verifyOk, 'active.integrating');
      await h.settle('integrate', { targetOid: 'x', alreadyIntegrated: false }, 'active.recording');
    }],
  ];
  for (const [slot, path, before] of failingSteps) {
    it(`${slot} failing for good → halted; RETRY runs ${slot} again`, async () => {
      const h = createHarness();
      h.actor.start();
      await before(h);
      await h.fail(slot, new Error(`${slot} broke`), 'halted');
      expect(h.actor.getSnapshot().context.lastError).toContain(`${slot} broke`);
      const before_ = h.calls.filter((c) => c.name === slot).length;
      h.actor.send({ type: 'RETRY' });
      await h.reach(path);
      await h.call(slot);
      expect(h.calls.filter((c) => c.name === slot).length).toBe(before_ + 1);
    });
  }

  const pausable: Array<[string, string, (h: H) => Promise<void>]> = [
    ['syncRepo', 'active.initializing.syncingRepo', async () => {}],
    ['checkTools', 'active.initializing.checkingTools', async (h) => {
      await h.settle('syncRepo', { headOid: 'a' });
      await h.settle('provisionSandbox', { kind: 'local' });
    }],
    ['prepareTask', 'active.preparing', async (h) => {
      await boot(h);
      await h.settle('selectTask', task('1.1'), 'active.preparing');
    }],
    ['acquireSlot', 'active.waitingForSlot', async (h) => {
      await boot(h);
      await h.settle('selectTask', task('1.1'));
      await h.settle('prepareTask', { promptSha256: 's', branch: 'b' }, 'active.waitingForSlot');
    }],
    ['runAgent', 'active.executing', async (h) => {
      await boot(h);
      await toExecuting(h);
    }],
    ['runVerify', 'active.verifying', async (h) => {
      await boot(h);
      await toExecuting(h);
      await h.settle('runAgent', agentOk, 'active.verifying');
    }],
  ];
  for (const [slot, path, before] of pausable) {
    it(`PAUSE in ${path} aborts the step; RESUME returns to it and runs it again`, async () => {
      const h = createHarness();
      h.actor.start();
      await before(h);
      const inflight = await h.call(slot);
      h.actor.send({ type: 'PAUSE' });
      const s = h.actor.getSnapshot();
      expect(s.value).toBe('paused');
      expect(inflight.signal.aborted).toBe(true);
      expect(s.context.pausedFrom).toBe(path);
      expect(toStatus(s, { seq: 7, updatedAt: 'now' }).substate).toBe(path.replace(/^active\./, ''));
      h.actor.send({ type: 'PAUSE' }); // no-op
      expect(h.actor.getSnapshot().value).toBe('paused');
      h.actor.send({ type: 'RESUME' });
      await h.reach(path);
      const again = await h.call(slot);
      expect(again).not.toBe(inflight);
      expect(again.input).toEqual(inflight.input);
    });
  }

  it('PAUSE works in idle and awaitingTaskList, and RESUME returns there', async () => {
    for (const [out, path] of [[nothing([]), 'active.idle'], [{ kind: 'noTaskList', templatePath: 't' }, 'active.awaitingTaskList']] as const) {
      const h = createHarness();
      await boot(h);
      await h.settle('selectTask', out, path);
      h.actor.send({ type: 'PAUSE' });
      expect(h.actor.getSnapshot().value).toBe('paused');
      h.actor.send({ type: 'RESUME' });
      await h.reach(path);
    }
  });

  const stoppable: Array<[string, (h: H) => Promise<void>]> = [
    ['initializing', async (h) => void h.actor.start()],
    ['executing', async (h) => {
      await boot(h);
      await toExecuting(h);
    }],
    ['idle', async (h) => {
      await boot(h);
      await h.settle('selectTask', nothing([]), 'active.idle');
    }],
    ['paused', async (h) => {
      await boot(h);
      h.actor.send({ type: 'PAUSE' });
    }],
    ['halted', async (h) => {
      h.actor.start();
      await h.fail('syncRepo', new Error('x'), 'halted');
    }],
  ];
  for (const [name, before] of stoppable) {
    it(`STOP from ${name} → stopping (cleanup) → stopped`, async () => {
      const h = createHarness();
      await before(h);
      const pending = h.calls.filter((c) => !(c as any).settled && c.name !== 'cleanup');
      h.actor.send({ type: 'STOP' });
      expect(h.actor.getSnapshot().value).toBe('stopping');
      for (const c of pending) expect(c.signal.aborted).toBe(true);
      await h.settle('cleanup', undefined, 'stopped');
      expect(h.actor.getSnapshot().status).toBe('done');
      expect(acceptedCommands(h.actor.getSnapshot())).toEqual([]);
    });
  }

  it('rejects events a state does not accept', async () => {
    const h = createHarness();
    await boot(h);
    await toExecuting(h);
    const s = h.actor.getSnapshot();
    expect(s.can({ type: 'RESUME' })).toBe(false);
    expect(s.can({ type: 'RETRY' })).toBe(false);
    expect(s.can({ type: 'REPO_UPDATED' })).toBe(false);
    expect(acceptedCommands(s)).toEqual(['PAUSE', 'STOP']);
  });

  it('a persisted snapshot (JSON round trip) restores mid-step and the step runs again with the same input', async () => {
    const h = createHarness();
    await boot(h);
    await toExecuting(h);
    await h.settle('runAgent', agentOk, 'active.verifying');
    await h.settle('runVerify', verifyFail('boom'), 'active.executing');
    const first = await h.call('runAgent');
    const persisted = JSON.parse(JSON.stringify(h.actor.getPersistedSnapshot()));
    h.actor.stop();

    const r = createHarness({ snapshot: persisted });
    r.actor.start();
    expect(r.actor.getSnapshot().matches(toValue('active.executing'))).toBe(true);
    const again = await r.call('runAgent');
    expect(again.input).toEqual(first.input);
    expect(again.input).toMatchObject({ attempt: 2, feedback: 'boom' });
  });

  it('a paused snapshot restored from JSON still resumes to the paused step (history survives)', async () => {
    const h = createHarness();
    await boot(h);
    await toExecuting(h);
    await h.settle('runAgent', agentOk, 'active.verifying');
    h.actor.send({ type: 'PAUSE' });
    const persisted = JSON.parse(JSON.stringify(h.actor.getPersistedSnapshot()));
    h.actor.stop();
    const r = createHarness({ snapshot: persisted });
    r.actor.start();
    expect(r.actor.getSnapshot().value).toBe('paused');
    r.actor.send({ type: 'RESUME' });
    await r.reach('active.verifying');
    expect((await r.call('runVerify')).input).toMatchObject({ taskId: '1.1', attempt: 1 });
  });

  it('status projection reflects context', async () => {
    const h = createHarness();
    await boot(h);
    await toExecuting(h, '2.1');
    const st = toStatus(h.actor.getSnapshot(), { seq: 12, updatedAt: '2026-01-01T00:00:00.000Z' });
    expect(st).toMatchObject({
      projectId: 'p1',
      state: 'executing',
      substate: 'executing',
      currentTask: { id: '2.1', title: 'Task 2.1', attempt: 1 },
      acceptedCommands: ['PAUSE', 'STOP'],
      seq: 12,
      tools: { git: '2.39' },
    });
  });

  it('never throws on an unprovided slot: it halts naming the slot', async () => {
    const actor = createActor(projectMachine, { input: { projectId: 'x' } }).start();
    await new Promise<void>((r) => actor.subscribe((s) => s.value === 'halted' && r()));
    expect(actor.getSnapshot().context.lastError).toContain('syncRepo not provided');
  });
});
