/**
 * The two statecharts, pure, with controllable slot fakes (test/support/machineHarness.ts): every
 * transition, the retry budget, halts and RETRY/SKIP, PAUSE/RESUME per step (incl. a JSON round
 * trip of a paused snapshot), STOP, the dispatcher and the merge train, idempotent LANE replays.
 */
import { describe, expect, it } from 'vitest';
import { acceptedCommands, stateOf, toStatus } from '../../src/machines/status.ts';
import { leaf } from '../../src/machines/task.machine.ts';
import { agentFail, agentOk, lane, projectHarness, selection, taskHarness, verifyFail, verifyOk } from '../support/machineHarness.ts';

const state = (h: { actor: any }) => leaf(h.actor.getSnapshot().value);
const projectState = (h: { actor: any }) => stateOf(h.actor.getSnapshot()).state;

async function running(h: ReturnType<typeof projectHarness>) {
  h.actor.start();
  await h.settle('syncRepo', { headOid: 'a' });
  await h.settle('provisionSandbox', { kind: 'local' });
  await h.settle('checkTools', { tools: { sh: '1' } });
}

describe('task machine', () => {
  it('walks preparing → waitingForSlot → executing → verifying → ready → MERGED → done, emitting each attempt', async () => {
    const h = taskHarness();
    h.actor.start();
    expect(state(h)).toBe('active.preparing');
    const prep = await h.settle('prepareTask', { promptSha256: 'x'.repeat(64), branch: 'devteam/1.1-a', artifacts: ['prompt.md'] });
    expect(prep.input).toEqual({ projectId: 'p1', taskId: '1.1', title: 'Task 1.1', attempt: 1, feedback: null });
    await h.settle('acquireSlot', undefined);
    await h.settle('runAgent', agentOk);
    await h.settle('runVerify', verifyOk);
    await h.reach('active.ready');
    expect(h.emitted.map((e) => e.type)).toEqual(['task.attemptStarted', 'task.ready']);
    h.actor.send({ type: 'MERGED' });
    expect(h.actor.getSnapshot().status).toBe('done');
    const ended = h.emitted.at(-1);
    expect(ended).toMatchObject({ type: 'task.attemptEnded', attempt: 1, outcome: 'completed' });
    expect(ended.run).toMatchObject({ branch: 'devteam/1.1-a', agent: agentOk.agent, verify: verifyOk.verify, artifacts: ['prompt.md'] });
  });

  it('a failed verify retries with its output as feedback, twice; the third failure halts', async () => {
    const h = taskHarness();
    h.actor.start();
    await h.settle('prepareTask', { promptSha256: 'x', branch: 'b' });
    await h.settle('acquireSlot', undefined);
    for (const attempt of [1, 2]) {
      await h.settle('runAgent', agentOk);
      await h.settle('runVerify', verifyFail(`boom ${attempt}`));
      const next = await h.call('runAgent');
      expect(next.input).toMatchObject({ attempt: attempt + 1, feedback: `boom ${attempt}` });
    }
    await h.settle('runAgent', agentOk);
    await h.settle('runVerify', verifyFail('boom 3'));
    await h.reach('halted');
    const s = h.actor.getSnapshot();
    expect(s.context).toMatchObject({ attempt: 3, lastError: 'verify exited 2: boom 3', haltedFrom: 'verifying' });
    expect(h.emitted.filter((e) => e.type === 'task.attemptEnded').map((e) => [e.attempt, e.outcome])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
    ]);
    expect(h.emitted.at(-1)).toMatchObject({ type: 'task.halted', attempt: 3 });
  });

  it('an agent failure marked permanent halts at once and spends no retry', async () => {
    const h = taskHarness();
    h.actor.start();
    await h.settle('prepareTask', { promptSha256: 'x', branch: 'b' });
    await h.settle('acquireSlot', undefined);
    await h.settle('runAgent', { ...agentFail('the agent cannot work (auth): invalid api key'), permanent: true });
    await h.reach('halted');
    expect(h.actor.getSnapshot().context).toMatchObject({ attempt: 1, haltedFrom: 'executing' });
    expect(h.calls.filter((c) => c.name === 'runAgent')).toHaveLength(1);
  });

  it('RETRY opens a fresh budget with the next attempt number; SKIP ends the task', async () => {
    const h = taskHarness({ attempt: 4 });
    h.actor.start();
    await h.fail('prepareTask', new Error('disk full'));
    await h.reach('halted');
    expect(h.actor.getSnapshot().context.lastError).toBe('preparing failed: disk full');
    h.actor.send({ type: 'RETRY' });
    const again = await h.call('prepareTask');
    expect(again.input.attempt).toBe(5);
    expect(h.actor.getSnapshot().context).toMatchObject({ budgetStart: 5, lastError: null });
    await h.fail('prepareTask', new Error('still full'));
    await h.reach('halted');
    h.actor.send({ type: 'SKIP' });
    expect(h.actor.getSnapshot().status).toBe('done');
    expect(state(h)).toBe('skipped');
  });

  it('REWORK from the merge train runs the task again on the new head with the feedback (counted against the budget)', async () => {
    const h = taskHarness();
    h.actor.start();
    await h.settle('prepareTask', { promptSha256: 'x', branch: 'b' });
    await h.settle('acquireSlot', undefined);
    await h.settle('runAgent', agentOk);
    await h.settle('runVerify', verifyOk);
    await h.reach('active.ready');
    h.actor.send({ type: 'REWORK', reason: 'merge conflict in a.txt', feedback: '<<<<<<< conflict' });
    const prep = await h.call('prepareTask');
    expect(prep.input).toMatchObject({ attempt: 2, feedback: '<<<<<<< conflict' });
    expect(h.emitted.find((e) => e.type === 'task.attemptEnded')).toMatchObject({ attempt: 1, outcome: 'failed', error: 'merge conflict in a.txt' });
  });

  it.each(['preparing', 'waitingForSlot', 'executing', 'verifying'])('PAUSE in %s cancels the step; RESUME (after a JSON round trip) runs it again', async (step) => {
    const h = taskHarness();
    h.actor.start();
    const order = ['prepareTask', 'acquireSlot', 'runAgent', 'runVerify'];
    const outputs: unknown[] = [{ promptSha256: 'x', branch: 'b' }, undefined, agentOk, verifyOk];
    const idx = ['preparing', 'waitingForSlot', 'executing', 'verifying'].indexOf(step);
    for (let i = 0; i < idx; i++) await h.settle(order[i]!, outputs[i]);
    const running = await h.call(order[idx]!);
    h.actor.send({ type: 'PAUSE' });
    expect(running.signal.aborted).toBe(true);
    expect(state(h)).toBe('paused');
    const persisted = JSON.parse(JSON.stringify(h.actor.getPersistedSnapshot()));
    h.actor.stop();
    const r = taskHarness({ snapshot: persisted });
    r.actor.start();
    r.actor.send({ type: 'RESUME' });
    const again = await r.call(order[idx]!);
    expect(again.input.attempt).toBe(1);
    expect(state(r)).toBe(`active.${step}`);
  });

  it('STOP from any state ends the task (cancelled)', async () => {
    const h = taskHarness();
    h.actor.start();
    const c = await h.call('prepareTask');
    h.actor.send({ type: 'STOP' });
    expect(c.signal.aborted).toBe(true);
    expect(state(h)).toBe('stopped');
    expect(h.emitted.at(-1)).toMatchObject({ type: 'task.attemptEnded', outcome: 'cancelled' });
  });
});

describe('project machine (the coordinator)', () => {
  it('initializes, dispatches the selected tasks as lanes, and goes idle when nothing is left', async () => {
    const h = projectHarness();
    await running(h);
    const sel = await h.call('selectTasks');
    expect(sel.input).toEqual({ projectId: 'p1', inFlight: [], skippedTaskIds: [] });
    await h.settle('selectTasks', selection(['1.1', '1.2']));
    const s = h.actor.getSnapshot();
    expect(s.context.lanes.map((l: any) => [l.taskId, l.state])).toEqual([
      ['1.1', 'preparing'],
      ['1.2', 'preparing'],
    ]);
    expect(h.emitted.filter((e) => e.type === 'lane.start').map((e) => e.taskId)).toEqual(['1.1', '1.2']);
    expect(projectState(h)).toBe('preparing');
    expect(toStatus(s, { seq: 1, updatedAt: 'now' }).currentTask).toEqual({ id: '1.1', title: 'Task 1.1', attempt: 1 });
  });

  it('a ready lane queues for the train; merged → completed, lane gone, a new selection follows', async () => {
    const h = projectHarness();
    await running(h);
    await h.settle('selectTasks', selection(['1.1', '1.2']));
    h.actor.send(lane('1.2', 'ready'));
    const merge = await h.call('integrate');
    expect(merge.input).toEqual({ projectId: 'p1', taskId: '1.2', title: 'Task 1.2', attempt: 1 });
    expect(projectState(h)).toBe('integrating');
    // A replayed LANE while it merges changes nothing (idempotent).
    h.actor.send(lane('1.2', 'ready'));
    expect(h.actor.getSnapshot().context.mergeQueue).toEqual(['1.2']);
    await h.settle('integrate', { kind: 'merged', targetOid: 'b', alreadyIntegrated: false });
    await h.settle('recordOutcome', { pushed: true });
    const s = h.actor.getSnapshot();
    expect(s.context.completedTaskIds).toEqual(['1.2']);
    expect(s.context.lanes.map((l: any) => l.taskId)).toEqual(['1.1']);
    expect(s.context.outbox).toEqual([{ taskId: '1.2', attempt: 1, kind: 'MERGED' }]);
    const again = await h.call('selectTasks');
    expect(again.input.inFlight).toEqual(['1.1']);
  });

  it('the train sends a conflicting task back (REWORK in the outbox); its stale ready is ignored until a newer attempt shows', async () => {
    const h = projectHarness();
    await running(h);
    await h.settle('selectTasks', selection(['1.1']));
    h.actor.send(lane('1.1', 'ready'));
    await h.settle('integrate', { kind: 'rework', reason: 'merge conflict in a.txt', feedback: 'hunks' });
    let s = h.actor.getSnapshot();
    expect(s.context.mergeQueue).toEqual([]);
    expect(s.context.outbox).toEqual([{ taskId: '1.1', attempt: 1, kind: 'REWORK', reason: 'merge conflict in a.txt', feedback: 'hunks' }]);
    expect(h.emitted.at(-1)).toMatchObject({ type: 'task.rework', taskId: '1.1' });
    h.actor.send(lane('1.1', 'ready', 1)); // a replay from before the task took the REWORK
    s = h.actor.getSnapshot();
    expect(s.context.mergeQueue).toEqual([]);
    expect(s.context.lanes[0].state).toBe('reworking');
    h.actor.send(lane('1.1', 'preparing', 2));
    s = h.actor.getSnapshot();
    expect(s.context.outbox).toEqual([]);
    expect(s.context.lanes[0]).toMatchObject({ state: 'preparing', attempt: 2 });
  });

  it('a halted lane holds; RETRY/SKIP are accepted for it; a skipped lane frees its place', async () => {
    const h = projectHarness();
    await running(h);
    await h.settle('selectTasks', selection(['1.1']));
    h.actor.send(lane('1.1', 'halted', 3, 'verify exited 2'));
    const s = h.actor.getSnapshot();
    const st = toStatus(s, { seq: 9, updatedAt: 'now' });
    expect(st.state).toBe('halted');
    expect(st.lastError).toBe('verify exited 2');
    expect(acceptedCommands(s)).toEqual(expect.arrayContaining(['RETRY', 'SKIP', 'PAUSE', 'STOP']));
    h.actor.send(lane('1.1', 'skipped', 3));
    expect(h.actor.getSnapshot().context.skippedTaskIds).toEqual(['1.1']);
    const sel = await h.call('selectTasks');
    expect(sel.input.skippedTaskIds).toEqual(['1.1']);
  });

  it('a train step failing for good halts the project; RETRY runs that step again; SKIP gives the head task up', async () => {
    const h = projectHarness();
    await running(h);
    await h.settle('selectTasks', selection(['1.1', '1.2']));
    h.actor.send(lane('1.1', 'ready'));
    await h.settle('integrate', { kind: 'merged', targetOid: 'b', alreadyIntegrated: false });
    await h.fail('recordOutcome', new Error('The remote refused the push of main: pre-receive hook declined'));
    await h.reach('halted');
    expect(h.actor.getSnapshot().context.lastError).toBe('recording failed: The remote refused the push of main: pre-receive hook declined');
    h.actor.send({ type: 'RETRY' });
    const again = await h.call('recordOutcome');
    expect(again.input.taskId).toBe('1.1');
    await h.fail('recordOutcome', new Error('refused again'));
    await h.reach('halted');
    h.actor.send({ type: 'SKIP' });
    const s = h.actor.getSnapshot();
    expect(s.context.skippedTaskIds).toEqual(['1.1']);
    expect(s.context.outbox).toEqual([{ taskId: '1.1', attempt: 1, kind: 'SKIP' }]);
    expect(s.context.lanes.map((l: any) => l.taskId)).toEqual(['1.2']);
  });

  it('no task list → awaitingTaskList (watching the remote); a wake-up selects again', async () => {
    const h = projectHarness();
    await running(h);
    await h.settle('selectTasks', { kind: 'noTaskList', templatePath: 'templates/tasks_list.md' });
    expect(projectState(h)).toBe('awaitingTaskList');
    expect(h.watchers.at(-1)!.stopped).toBe(false);
    h.watchers.at(-1)!.sendBack({ type: 'TASKS_CHANGED' });
    await h.call('selectTasks');
    expect(h.watchers.at(-1)!.stopped).toBe(true);
  });

  it('PAUSE keeps every region where it was (deep history, across a JSON round trip); RESUME restarts their steps', async () => {
    const h = projectHarness();
    await running(h);
    await h.settle('selectTasks', selection(['1.1']));
    h.actor.send(lane('1.1', 'ready'));
    const merging = await h.call('integrate');
    h.actor.send({ type: 'PAUSE' });
    expect(merging.signal.aborted).toBe(true);
    expect(projectState(h)).toBe('paused');
    const persisted = JSON.parse(JSON.stringify(h.actor.getPersistedSnapshot()));
    h.actor.stop();
    const r = projectHarness({ snapshot: persisted });
    r.actor.start();
    r.actor.send({ type: 'RESUME' });
    const again = await r.call('integrate');
    expect(again.input.taskId).toBe('1.1');
    expect(stateOf(r.actor.getSnapshot()).state).toBe('integrating');
  });

  it('STOP from running cleans up and ends', async () => {
    const h = projectHarness();
    await running(h);
    await h.settle('selectTasks', selection(['1.1']));
    h.actor.send({ type: 'STOP' });
    expect(projectState(h)).toBe('stopping');
    await h.settle('cleanup', undefined);
    expect(h.actor.getSnapshot().status).toBe('done');
    expect(acceptedCommands(h.actor.getSnapshot())).toEqual([]);
  });

  it('an init step failing halts; RETRY re-runs the failed step', async () => {
    const h = projectHarness();
    h.actor.start();
    await h.settle('syncRepo', { headOid: 'a' });
    await h.fail('provisionSandbox', new Error('engine down'));
    await h.reach('halted');
    expect(h.actor.getSnapshot().context.lastError).toBe('provisioningSandbox failed: engine down');
    h.actor.send({ type: 'RETRY' });
    await h.call('provisionSandbox');
    expect(projectState(h)).toBe('initializing');
  });
});
