/**
 * Resolves drafts into the model: expands phase references, checks that every reference exists,
 * rejects cycles. Pure; iterative (no recursion limit on long dependency chains).
 */
import type { Deps } from './grammar.ts';
import type { PhaseDraft, TaskDraft } from './drafts.ts';
import { TaskListError, type Phase, type Task, type TaskList } from './types.ts';

/** Expands phase references, checks that every reference exists, builds the result, rejects cycles. */
export function resolve(drafts: TaskDraft[], phaseDrafts: PhaseDraft[]): TaskList {
  const index = new Map(drafts.map((d, i) => [d.id, i]));
  const phaseTasks = new Map<string, number[]>(phaseDrafts.map((p) => [p.number.toLowerCase(), []]));
  drafts.forEach((d, i) => d.phase && phaseTasks.get(d.phase.number.toLowerCase())!.push(i));

  const expand = (owner: string, line: number, deps: Deps): number[] => {
    const out: number[] = [];
    for (const ref of deps.refs) {
      const found = ref.kind === 'task' ? index.get(ref.id) : phaseTasks.get(ref.id.toLowerCase());
      if (found === undefined) {
        const [code, what] = ref.kind === 'task' ? (['unknown_dependency', 'task'] as const) : (['unknown_phase', 'phase Phase'] as const);
        throw new TaskListError(code, `${owner} (line ${line}) depends on unknown ${what} ${ref.id}`, [owner.replace(/^Task /, ''), ref.kind === 'task' ? ref.id : `Phase ${ref.id}`], line);
      }
      out.push(...(typeof found === 'number' ? [found] : found));
    }
    if (deps.invalid !== null) {
      throw new TaskListError('unknown_dependency', `${owner} (line ${line}) depends on unknown task "${deps.invalid}" (expected ids like 1.2 or Phase 1)`, [owner.replace(/^Task /, ''), deps.invalid], line);
    }
    return [...new Set(out)];
  };
  const byDocOrder = (xs: Iterable<number>): number[] => [...new Set(xs)].sort((a, b) => a - b);

  const phaseDeps = new Map<PhaseDraft, number[]>();
  const phases = new Map<PhaseDraft, Phase>();
  for (const p of phaseDrafts) {
    const deps = byDocOrder(expand(`Phase ${p.number}`, p.line, p));
    phaseDeps.set(p, deps);
    phases.set(p, { id: `Phase ${p.number}`, number: p.number, title: p.title, heading: p.heading, line: p.line, dependsOn: deps.map((j) => drafts[j].id) });
  }
  const edges = drafts.map((d) => {
    const own = expand(`Task ${d.id}`, d.line, d);
    return { own, all: byDocOrder([...own, ...(d.phase ? phaseDeps.get(d.phase)! : [])]) };
  });
  assertAcyclic(drafts, edges.map((e) => e.all));
  const tasks = drafts.map((d, i): Task => ({
    id: d.id,
    title: d.title,
    phase: d.phase ? phases.get(d.phase)! : null,
    dependencies: edges[i].all.map((j) => drafts[j].id),
    ownDependencies: edges[i].own.map((j) => drafts[j].id),
    body: d.body,
    checked: d.checked,
    line: d.line,
    heading: d.heading,
    script: d.script,
    files: d.files,
    expectsNoChanges: d.expectsNoChanges,
    source: { line: d.line, kind: d.kind, level: d.level },
  }));
  return { tasks, phases: [...phases.values()] };
}

/** Iterative DFS (no recursion limit on long chains); reports the first cycle found in document order. */
function assertAcyclic(drafts: TaskDraft[], deps: number[][]): void {
  const color = new Uint8Array(drafts.length); // 0 new, 1 on stack, 2 finished
  const stackPos = new Int32Array(drafts.length);
  for (let s = 0; s < drafts.length; s++) {
    if (color[s]) continue;
    const stack: number[] = [s];
    const next: number[] = [0];
    color[s] = 1;
    stackPos[s] = 0;
    while (stack.length) {
      const top = stack.length - 1;
      const u = stack[top];
      if (next[top] >= deps[u].length) {
        color[u] = 2;
        stack.pop();
        next.pop();
        continue;
      }
      const v = deps[u][next[top]++];
      if (color[v] === 1) {
        const cycle = stack.slice(stackPos[v]).map((k) => drafts[k]);
        const path = [...cycle, cycle[0]].map((d) => d.id).join(' → ');
        const lines = cycle.map((d) => d.line).join(', ');
        throw new TaskListError('cycle', `Dependency cycle: ${path} (line${cycle.length > 1 ? 's' : ''} ${lines})`, cycle.map((d) => d.id), cycle[0].line);
      }
      if (color[v] === 0) {
        color[v] = 1;
        stackPos[v] = stack.length;
        stack.push(v);
        next.push(0);
      }
    }
  }
}
