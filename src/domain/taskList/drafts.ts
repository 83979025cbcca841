/**
 * Turns the outline (top-level headings and checkbox task items, in document order) into phase
 * and task drafts: ids, titles, dependency clauses and lines, bodies, scripts, `Files:` and
 * `Changes:` lines. References are resolved later (`resolve.ts`). Pure.
 */
import { BOX_RE, depLine, isNoChanges, keywordLine, parseFiles, PHASE_RE, splitTitle, TASK_RE, type Deps } from './grammar.ts';
import type { CheckboxEvent, HeadingEvent, Outline, ScriptBlock } from './outline.ts';
import { isBlank, stripContainers, trimBlankLines, type Source } from './source.ts';
import { TaskListError, type TaskScript } from './types.ts';

export interface PhaseDraft extends Deps {
  number: string;
  title: string;
  heading: string;
  line: number;
  level: number;
}

export interface TaskDraft extends Deps {
  id: string;
  title: string;
  heading: string;
  line: number;
  checked: boolean | null;
  phase: PhaseDraft | null;
  kind: 'heading' | 'checkbox';
  level: number;
  body: string;
  script: TaskScript | null;
  files: string[];
  expectsNoChanges: boolean;
}

/** A body line: its line number in the document and its text (list items: de-indented). */
interface BodyLine {
  line: number;
  text: string;
}

export function draft(out: Outline, src: Source): { tasks: TaskDraft[]; phases: PhaseDraft[] } {
  const tasks: TaskDraft[] = [];
  const phases: PhaseDraft[] = [];
  const firstLine = new Map<string, number>();
  const phaseLine = new Map<string, number>();
  const visible = (l: BodyLine): boolean => out.literal[l.line] === 0;
  let phase: PhaseDraft | null = null;
  /** The heading task whose body is still open, and the first line of that body. */
  let open: { task: TaskDraft; level: number; from: number; hasClause: boolean } | null = null;

  const newTask = (id: string, line: number, fields: Omit<TaskDraft, 'id' | 'line' | 'phase' | 'refs' | 'invalid' | 'title' | 'body' | 'script' | 'files' | 'expectsNoChanges'>, rest: string): { task: TaskDraft; hasClause: boolean } => {
    const seen = firstLine.get(id);
    if (seen !== undefined) throw new TaskListError('duplicate_id', `Duplicate task id ${id} at lines ${seen} and ${line}`, [id], line);
    firstLine.set(id, line);
    const { title, deps } = splitTitle(rest);
    const task: TaskDraft = { id, line, title, phase, ...fields, body: '', script: null, files: [], expectsNoChanges: false, refs: deps?.refs ?? [], invalid: deps?.invalid ?? null };
    tasks.push(task);
    return { task, hasClause: deps !== null };
  };
  /** Body text, and what the body's lines say: dependency line (first non-blank line), Files, Changes. */
  const fillBody = (task: TaskDraft, lines: BodyLine[], hasClause: boolean, script: TaskScript | null): void => {
    const kept = trimBlankLines(lines, (l) => l.text);
    task.body = kept.map((l) => l.text).join('\n');
    task.script = script;
    if (!hasClause && kept.length && visible(kept[0])) Object.assign(task, depLine(kept[0].text) ?? {});
    const files = new Set<string>();
    for (const l of kept) {
      if (!visible(l)) continue;
      const f = keywordLine(l.text, 'files');
      if (f !== null) for (const p of parseFiles(f)) files.add(p);
      const c = keywordLine(l.text, 'changes');
      if (c !== null && isNoChanges(c)) task.expectsNoChanges = true;
    }
    task.files = [...files];
  };
  const closeHeadingTask = (boundary: number): void => {
    if (!open) return;
    const lines: BodyLine[] = [];
    for (let n = open.from; n < boundary; n++) lines.push({ line: n, text: src.lines[n - 1] });
    fillBody(open.task, lines, open.hasClause, firstScriptIn(out.scripts, open.from, boundary - 1, null));
    open = null;
  };

  for (const ev of out.events) {
    if (ev.kind === 'checkbox') {
      closeHeadingTask(ev.line);
      const m = TASK_RE.exec(ev.text)!;
      const level = ev.chain.filter((c) => c.kind === 'item').length;
      const { task, hasClause } = newTask(m[1], ev.line, { heading: ev.text, checked: ev.checked, kind: 'checkbox', level }, m[2] ?? '');
      const lines: BodyLine[] = [];
      for (let n = ev.line + 1; n <= ev.endLine; n++) lines.push({ line: n, text: stripContainers(src.lines[n - 1], ev.chain) });
      fillBody(task, lines, hasClause, firstScriptIn(out.scripts, ev.line, ev.endLine, ev));
      continue;
    }
    // A "Phase …" heading nested inside a heading task's section is body text, not a phase.
    const pm = open && ev.level > open.level ? null : PHASE_RE.exec(ev.content);
    if (pm) {
      closeHeadingTask(ev.line);
      phase = newPhase(ev, pm, phaseLine, src, out);
      phases.push(phase);
      continue;
    }
    const box = ev.level >= 3 ? BOX_RE.exec(ev.content) : null;
    const tm = ev.level >= 3 ? TASK_RE.exec(box ? box[2] : ev.content) : null;
    if (tm) {
      closeHeadingTask(ev.line);
      const { task, hasClause } = newTask(tm[1], ev.line, { heading: ev.text, checked: box ? box[1] !== ' ' : null, kind: 'heading', level: ev.level }, tm[2] ?? '');
      open = { task, level: ev.level, from: ev.endLine + 1, hasClause };
      continue;
    }
    if (open && ev.level <= open.level) closeHeadingTask(ev.line);
    if (phase && ev.level <= phase.level) phase = null;
  }
  closeHeadingTask(src.lines.length + 1);
  return { tasks, phases };
}

function newPhase(ev: HeadingEvent, pm: RegExpExecArray, phaseLine: Map<string, number>, src: Source, out: Outline): PhaseDraft {
  const number = pm[1];
  const key = number.toLowerCase();
  const seen = phaseLine.get(key);
  if (seen !== undefined) throw new TaskListError('duplicate_id', `Duplicate phase Phase ${number} at lines ${seen} and ${ev.line}`, [`Phase ${number}`], ev.line);
  phaseLine.set(key, ev.line);
  const { title, deps } = splitTitle(pm[2]);
  const p: PhaseDraft = { number, title, heading: ev.text, line: ev.line, level: ev.level, refs: deps?.refs ?? [], invalid: deps?.invalid ?? null };
  if (!deps) {
    // A `Dependencies:` line as the first non-blank line under the heading.
    let n = ev.endLine + 1;
    while (n <= src.lines.length && isBlank(src.lines[n - 1])) n++;
    if (n <= src.lines.length && out.literal[n] === 0) Object.assign(p, depLine(src.lines[n - 1]) ?? {});
  }
  return p;
}

/** The first shell block starting on lines [from, to] (and, for a checkbox task, inside its item). */
function firstScriptIn(scripts: ScriptBlock[], from: number, to: number, item: CheckboxEvent | null): TaskScript | null {
  let lo = 0;
  let hi = scripts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (scripts[mid].line < from) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < scripts.length && scripts[i].line <= to; i++) {
    const s = scripts[i];
    if (!item || (s.start >= item.start && s.end <= item.end)) return s.script;
  }
  return null;
}
