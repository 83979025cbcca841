/**
 * Picks the next task to run. Pure.
 */
import type { Selection, TaskList } from './types.ts';

type Status = 'done' | 'skipped' | 'blocked' | 'ready' | 'waiting';

/**
 * done = ticked checkbox OR id in doneIds (from the outcomes log); done wins over skipped.
 * A skipped task is not done: tasks depending on it can never run, so they are blocked, and so
 * (transitively) is everything depending on a blocked task. A done task stops that propagation:
 * its dependents only need it done. Dependencies missing from the list (hand-built lists) or a
 * cycle also count as blocking. next = first ready task (all dependencies done) in document order.
 */
export function selectNext(list: TaskList, opts: { doneIds: Iterable<string>; skippedIds: Iterable<string> }): Selection {
  const { tasks } = list;
  const doneIds = new Set(opts.doneIds);
  const skippedIds = new Set(opts.skippedIds);
  const index = new Map(tasks.map((t, i) => [t.id, i]));
  const status: (Status | undefined)[] = new Array(tasks.length);
  const visiting = new Uint8Array(tasks.length);
  for (let s = 0; s < tasks.length; s++) {
    const stack = [s];
    while (stack.length) {
      const u = stack[stack.length - 1];
      const t = tasks[u];
      if (status[u] === undefined && (t.checked === true || doneIds.has(t.id))) status[u] = 'done';
      else if (status[u] === undefined && skippedIds.has(t.id)) status[u] = 'skipped';
      if (status[u] !== undefined) {
        stack.pop();
        continue;
      }
      visiting[u] = 1;
      let pending = false;
      let blocked = false;
      let ready = true;
      for (const d of t.dependencies) {
        const j = index.get(d);
        const sj = j === undefined ? 'blocked' : status[j];
        if (sj === undefined && visiting[j!]) blocked = true;
        else if (sj === undefined) (pending = true), stack.push(j!);
        else if (sj === 'skipped' || sj === 'blocked') blocked = true;
        else if (sj !== 'done') ready = false;
        if (blocked) break;
      }
      if (pending && !blocked) continue; // revisit once the pushed dependencies are resolved
      status[u] = blocked ? 'blocked' : ready ? 'ready' : 'waiting';
      visiting[u] = 0;
      stack.pop();
    }
  }
  const ids = (want: Status): string[] => tasks.filter((_, i) => status[i] === want).map((t) => t.id);
  const completedTaskIds = ids('done');
  const skippedTaskIds = ids('skipped');
  const nextIndex = status.indexOf('ready');
  return {
    next: nextIndex < 0 ? null : tasks[nextIndex],
    completedTaskIds,
    skippedTaskIds,
    blockedTaskIds: ids('blocked'),
    counts: {
      total: tasks.length,
      done: completedTaskIds.length,
      skipped: skippedTaskIds.length,
      remaining: tasks.length - completedTaskIds.length - skippedTaskIds.length,
    },
  };
}
