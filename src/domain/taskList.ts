/**
 * Markdown task lists: parse tasks and their dependencies, pick the next task to run.
 * Pure (no I/O). Parsing is one linear pass over the lines; the regexes are written so that no
 * line, however long, makes them backtrack super-linearly.
 *
 * Accepted syntax — anything else is body text of the current task (or ignored preamble):
 * - Phase headings, any level: `## Phase 2: Title (Dependencies: [Phase 1])` (`phase`/`PHASE` too;
 *   separator `:`, `.`, `-`, `–`, `—` or none). A non-phase heading of the same or a higher level
 *   (`## Notes`) ends the phase: later tasks have `phase: null`. A phase heading deeper than the
 *   current heading task (`#### Phase 2 notes` under `### 2.1`) is body text.
 * - Task headings, levels 3–6: `### 2.1 Title`, `### 2.1. Title`, `### Task 2.1: Title`,
 *   `### [x] 2.1 Title` (the box sets `checked`). `#`/`##` headings are never tasks; any level-3+
 *   heading whose text starts with an id is one.
 * - Checkbox tasks: `- [ ] 2.1 Title`, `* [X] …`, `+ [x] …`, `1. [ ] …` at any indentation. A checkbox
 *   more indented than the current *checkbox* task is a sub-item in its body; under a heading task
 *   every checkbox with an id is a task. Checkboxes without an id are plain text.
 * - Ids: `\d+(\.\d+)*` (`1`, `2.1`, `10.12`), optionally after a letter-led prefix and a dash
 *   (`A-3`, `BE-2.1`). Ids are case-sensitive.
 * - Dependencies: a `(Dependencies: …)` clause anywhere in the title (the last one counts; also
 *   `Dependency`, `Deps`, `Depends on`, bold keyword) or, when the title has none, a `Dependencies: …`
 *   line as the first non-blank line under the task or phase heading (`- **Dependencies:** …` too).
 *   Values: `None`, `[]`, `[1.2, 1.3]`, `[3.3,5.2]`, `1.2 and 1.3`, `Task 1.2`, `Phase 4` (any case;
 *   = all tasks of that phase). Anything else in a dependency list is an `unknown_dependency` error.
 * - Body: the lines after the task line up to the next task line, phase heading, or other heading of
 *   the same/higher level (heading task) or at the same/lower indentation (checkbox task). Fenced blocks
 *   (``` / ~~~, closer of the same char and ≥ length; unclosed = to the end) are opaque. Line endings
 *   are normalised to `\n`; leading/trailing blank lines are trimmed, the rest is verbatim.
 */

export interface Phase {
  /** 'Phase 2' */
  id: string;
  /** '2' */
  number: string;
  title: string;
  /** The heading text after '## ' verbatim. */
  heading: string;
  line: number;
  /** Task ids after expanding phase references, document order. */
  dependsOn: string[];
}

export interface Task {
  id: string;
  title: string;
  phase: Phase | null;
  /** Own + phase dependencies, phase refs expanded, deduped, in document order of the dependency. */
  dependencies: string[];
  /** As written (phase refs expanded), deduped. */
  ownDependencies: string[];
  body: string;
  /** null for heading-style tasks without a box. */
  checked: boolean | null;
  line: number;
  /** Heading text verbatim after '### ' (or after '- [ ] ' for checkbox tasks). */
  heading: string;
}

export interface TaskList {
  tasks: Task[];
  phases: Phase[];
}

export type TaskListErrorCode = 'duplicate_id' | 'unknown_dependency' | 'cycle' | 'no_tasks' | 'unknown_phase';

/** `ids` names the tasks/phases involved; `line` is 1-based (0 for `no_tasks`). */
export class TaskListError extends Error {
  override readonly name = 'TaskListError';
  constructor(
    readonly code: TaskListErrorCode,
    message: string,
    readonly ids: string[],
    readonly line: number,
  ) {
    super(message);
  }
}

const ID = String.raw`(?:[A-Za-z][A-Za-z0-9]*-)?\d+(?:\.\d+)*`;
const ID_RE = new RegExp(`^${ID}$`);
const HEADING_RE = /^ {0,3}(#{1,6})(?:[ \t]+(.*))?$/s;
const CHECKBOX_RE = /^([ \t]*)(?:[-*+]|\d{1,9}[.)])[ \t]+\[([ xX])\][ \t]+(.*)$/s;
const BOX_RE = /^\[([ xX])\][ \t]+(.*)$/s;
const TASK_RE = new RegExp(String.raw`^(?:task[ \t]+)?(${ID})[.:)]?(?:[ \t]+(.*))?$`, 'is');
const PHASE_RE = new RegExp(String.raw`^phase[ \t]*(${ID})(?=$|[\s:.)\-–—])[ \t]*[:.)\-–—]?[ \t]*(.*)$`, 'is');
const PHASE_WORD_RE = new RegExp(`^phase[-:]?(${ID})?$`, 'i');
const FENCE_OPEN_RE = /^[ \t]*(`{3,}|~{3,})(.*)$/s;
const FENCE_CLOSE_RE = /^[ \t]*(`{3,}|~{3,})[ \t]*$/;
const KEYWORD = String.raw`(dependencies|dependency|deps|depends[ \t]+on)`;
const CLAUSE_RE = new RegExp(String.raw`\([ \t]*(?:[*_]+[ \t]*)?${KEYWORD}`, 'gi');
const DEP_LINE_RE = new RegExp(String.raw`^[ \t]*(?:[-*+][ \t]+)?(?:[*_]+[ \t]*)?${KEYWORD}`, 'i');
const NONE_WORD_RE = /^(?:none|n\/a|nil|-|—|and|&)$/i;

type Ref = { kind: 'task' | 'phase'; id: string };
interface Deps {
  refs: Ref[];
  /** First unreadable piece of the dependency list, if any. */
  invalid: string | null;
}
/** Phase or task under construction; its first non-blank line may be a `Dependencies:` line. */
interface Section extends Deps {
  hasClause: boolean;
  sawContent: boolean;
}
interface PhaseDraft extends Section {
  number: string;
  title: string;
  heading: string;
  line: number;
  level: number;
}
interface TaskDraft extends Section {
  id: string;
  title: string;
  heading: string;
  line: number;
  checked: boolean | null;
  phase: PhaseDraft | null;
  kind: 'heading' | 'checkbox';
  level: number;
  indent: number;
  bodyStart: number;
  body: string;
}

const isBlank = (s: string): boolean => s.trim() === '';
const skipChars = (s: string, i: number, chars: string): number => {
  while (i < s.length && chars.includes(s[i])) i++;
  return i;
};
const indentWidth = (ws: string): number => {
  let w = 0;
  for (const c of ws) w = c === '\t' ? w + 4 - (w % 4) : w + 1;
  return w;
};

/** Removes an ATX closing sequence (`## Title ##`) without a backtracking regex. */
function stripClosingHashes(text: string): string {
  let j = text.length;
  while (j > 0 && text[j - 1] === '#') j--;
  if (j === text.length) return text;
  if (j === 0) return '';
  return text[j - 1] === ' ' || text[j - 1] === '\t' ? text.slice(0, j).trimEnd() : text;
}

/** Parses a dependency value: `None`, `[1.2, 1.3]`, `Phase 4`, `1.1 and 1.2`. */
function parseRefs(value: string): Deps {
  const refs: Ref[] = [];
  let v = value.trim();
  if (v.endsWith('.')) v = v.slice(0, -1);
  for (const piece of v.split(/[,;]/)) {
    const words = piece.replace(/[[\]`*_()]/g, ' ').trim().split(/\s+/).filter(Boolean);
    for (let i = 0; i < words.length; i++) {
      const w = words[i];
      if (NONE_WORD_RE.test(w)) continue;
      const pm = PHASE_WORD_RE.exec(w);
      const id = pm ? (pm[1] ?? words[++i]) : /^task$/i.test(w) ? words[++i] : w;
      if (id === undefined || !ID_RE.test(id)) return { refs, invalid: piece.trim() };
      refs.push({ kind: pm ? 'phase' : 'task', id });
    }
  }
  return { refs, invalid: null };
}

/** Finds the last `(Dependencies: …)` clause of a title; needs `:` or `[` unless it says "depends on". */
function findClause(text: string): { value: string; start: number; end: number } | null {
  let last: RegExpExecArray | null = null;
  for (const m of text.matchAll(CLAUSE_RE)) last = m as RegExpExecArray;
  if (!last) return null;
  let i = skipChars(text, last.index + last[0].length, '*_ \t');
  const colon = text[i] === ':';
  if (colon) i = skipChars(text, i + 1, '*_ \t');
  if (!colon && text[i] !== '[' && !/^depends/i.test(last[1])) return null;
  // The value runs to the next parenthesis (an unclosed clause runs to the end of the title).
  let j = i;
  while (j < text.length && text[j] !== ')' && text[j] !== '(') j++;
  return { value: text.slice(i, j), start: last.index, end: text[j] === ')' ? j + 1 : j };
}

/** Splits `Title (Dependencies: …)` into title and dependencies. */
function splitTitle(rest: string): { title: string; deps: Deps | null } {
  const clause = findClause(rest);
  let title = rest;
  if (clause) {
    const after = rest.slice(clause.end).trim();
    title = rest.slice(0, clause.start).trimEnd() + (after ? ` ${after}` : '');
  }
  title = title.trim().replace(/^[-–—:][ \t]*/, '');
  return { title, deps: clause ? parseRefs(clause.value) : null };
}

/** A `Dependencies: …` line right under a task (only when the task line had no clause). */
function depLine(line: string): Deps | null {
  const m = DEP_LINE_RE.exec(line);
  if (!m) return null;
  let i = skipChars(line, m[0].length, '*_ \t');
  if (line[i] !== ':') return null;
  i = skipChars(line, i + 1, '*_ \t');
  let end = line.length;
  while (end > i && '*_ \t'.includes(line[end - 1])) end--;
  return parseRefs(line.slice(i, end));
}

/** Parses a markdown task list; throws TaskListError on structural problems. */
export function parseTaskList(markdown: string): TaskList {
  const lines = markdown.split(/\r\n|\r|\n/);
  const drafts: TaskDraft[] = [];
  const phases: PhaseDraft[] = [];
  const firstLine = new Map<string, number>();
  const phaseLine = new Map<string, number>();
  let fence: { ch: string; len: number } | null = null;
  let cur = null as TaskDraft | null; // `as`: assigned inside closures, so no narrowing to null
  let phase: PhaseDraft | null = null;

  const closeTask = (end: number): void => {
    if (!cur) return;
    let a = cur.bodyStart;
    let b = end;
    while (a < b && isBlank(lines[a])) a++;
    while (b > a && isBlank(lines[b - 1])) b--;
    cur.body = lines.slice(a, b).join('\n');
    cur = null;
  };
  const openTask = (i: number, m: RegExpExecArray, heading: string, checked: boolean | null, kind: TaskDraft['kind'], level: number, indent: number): void => {
    closeTask(i);
    const id = m[1];
    const seen = firstLine.get(id);
    if (seen !== undefined) throw new TaskListError('duplicate_id', `Duplicate task id ${id} at lines ${seen} and ${i + 1}`, [id], i + 1);
    firstLine.set(id, i + 1);
    const { title, deps } = splitTitle(m[2] ?? '');
    cur = { id, title, heading, line: i + 1, checked, phase, kind, level, indent, hasClause: deps !== null, sawContent: false, bodyStart: i + 1, body: '', refs: deps?.refs ?? [], invalid: deps?.invalid ?? null };
    drafts.push(cur);
    if (phase) phase.sawContent = true;
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (fence) {
      const c = FENCE_CLOSE_RE.exec(line);
      if (c && c[1][0] === fence.ch && c[1].length >= fence.len) fence = null;
      continue;
    }
    const owner: Section | null = cur ?? phase;
    if (owner && !owner.sawContent && !isBlank(line)) {
      owner.sawContent = true;
      const deps = owner.hasClause ? null : depLine(line);
      if (deps) Object.assign(owner, deps, { hasClause: true });
    }
    const f = FENCE_OPEN_RE.exec(line);
    if (f && !(f[1][0] === '`' && f[2].includes('`'))) {
      fence = { ch: f[1][0], len: f[1].length };
      continue;
    }
    const h = HEADING_RE.exec(line);
    if (h) {
      const level = h[1].length;
      const text = (h[2] ?? '').trimEnd();
      const content = stripClosingHashes(text);
      // A "Phase …" heading nested inside a heading task's section is body text, not a phase.
      const pm = cur && cur.kind === 'heading' && level > cur.level ? null : PHASE_RE.exec(content);
      if (pm) {
        closeTask(i);
        const number = pm[1];
        const key = number.toLowerCase();
        const seen = phaseLine.get(key);
        if (seen !== undefined) throw new TaskListError('duplicate_id', `Duplicate phase Phase ${number} at lines ${seen} and ${i + 1}`, [`Phase ${number}`], i + 1);
        phaseLine.set(key, i + 1);
        const { title, deps } = splitTitle(pm[2]);
        phase = { number, title, heading: text, line: i + 1, level, hasClause: deps !== null, sawContent: false, refs: deps?.refs ?? [], invalid: deps?.invalid ?? null };
        phases.push(phase);
        continue;
      }
      const box = level >= 3 ? BOX_RE.exec(content) : null;
      const tm = level >= 3 ? TASK_RE.exec(box ? box[2] : content) : null;
      if (tm) {
        openTask(i, tm, text, box ? box[1] !== ' ' : null, 'heading', level, 0);
        continue;
      }
      if (cur && (cur.kind === 'heading' ? level <= cur.level : indentWidth(/^[ \t]*/.exec(line)![0]) <= cur.indent)) closeTask(i);
      if (phase && level <= phase.level) phase = null;
      continue;
    }
    const cb = CHECKBOX_RE.exec(line);
    if (cb) {
      const indent = indentWidth(cb[1]);
      if (cur && cur.kind === 'checkbox' && indent > cur.indent) continue;
      const tm = TASK_RE.exec(cb[3]);
      if (tm) openTask(i, tm, cb[3].trimEnd(), cb[2] !== ' ', 'checkbox', 0, indent);
    }
  }
  closeTask(lines.length);
  if (drafts.length === 0) {
    throw new TaskListError('no_tasks', "No tasks found: expected headings like '### 1.1 Title' or checkboxes like '- [ ] 1.1 Title'", [], 0);
  }
  return resolve(drafts, phases);
}

/** Expands phase references, checks that every reference exists, builds the result, rejects cycles. */
function resolve(drafts: TaskDraft[], phaseDrafts: PhaseDraft[]): TaskList {
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

export interface Selection {
  next: Task | null;
  completedTaskIds: string[];
  skippedTaskIds: string[];
  blockedTaskIds: string[];
  counts: { total: number; done: number; skipped: number; remaining: number };
}

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
