/**
 * The task outcomes log: the markdown file in the project repo where the runner records evidence
 * per finished task (format: test/fixtures/seed_outcomes_log.md). It is also where "done" is read
 * from, so parsing tolerates hand edits and recording never disturbs the rest of the file. Pure.
 *
 * Structure relied on: `### <id> …` (column 0) opens a task section, running to the
 * next heading of level 1–3; `## Phase <n>: …` opens a phase section (to the next level 1–2
 * heading); headings inside column-0 code fences are ignored. A block is a run of
 * `- <Label>: value` bullets; a value continues on following indented lines (blank lines included
 * when an indented line follows). The renderer indents continuation lines by two spaces, so no
 * value can start a bullet or heading at column 0. A repeated label or any other non-blank line
 * starts/ends a block.
 */

export interface OutcomeFields {
  outputsSummary: string; validationEvidence: string; verificationNotes: string;
  artifacts: string; executor: string;
  /** ISO-8601 UTC, e.g. `new Date().toISOString()`. */
  timestamp: string;
}

export interface OutcomeEntry {
  taskId: string;
  /** 1-based line number of the task's `###` heading (its first one, if repeated). */
  line: number;
  /** Values of the latest filled block, else of the first block (normalised, see `normalizeOutcomeValue`). */
  fields: Partial<Record<keyof OutcomeFields, string>>;
  /** True when any block of the task has a non-empty Timestamp. */
  filled: boolean;
}

/**
 * The task being recorded, from the parsed task list (`Task`): the entry's heading is built from
 * `id` and `title` (`### 2.1 Mount events router`), whatever form the task list wrote it in
 * (`### [ ] 2.1 …`, `- [x] Task 2.1: …`, a dependency clause).
 */
export interface OutcomeTask {
  /** A task list id: `2.1`, `BE-2.1`. */
  id: string;
  /** One line; may be empty. */
  title: string;
  /** The task line's text as written (`Task.heading`). Not used for the log; kept for callers that pass it. */
  heading?: string;
  /** `heading`: the phase heading's text after `## ` (one line), used when the phase section is created. */
  phase: { heading: string; number: string } | null;
}

type FieldKey = keyof OutcomeFields;

/** Field keys and their bullet labels, in the seed's order. */
const FIELDS: ReadonlyArray<readonly [FieldKey, string]> = [
  ['outputsSummary', 'Outputs Summary'], ['validationEvidence', 'Validation Evidence'],
  ['verificationNotes', 'Verification Notes'], ['artifacts', 'Artifacts/Links'],
  ['executor', 'Executor'], ['timestamp', 'Timestamp'],
];
/** `s` flag: `.` must also match U+2028 etc., which are not line breaks in this file. */
const FIELD_RE =
  /^[-*][ \t]+(Outputs Summary|Validation Evidence|Verification Notes|Artifacts(?:\/Links)?|Executor|Timestamp):(.*)$/s;
/** Same id grammar as the task list (`2.1`, `T-3`, optional `Task ` word). */
const TASK_HEADING_RE = /^###[ \t]+(?:task[ \t]+)?((?:[A-Za-z][A-Za-z0-9]*-)?\d+(?:\.\d+)*)[.:)]?(?=[ \t]|$)/i;
const TASK_ID_RE = /^(?:[A-Za-z][A-Za-z0-9]*-)?\d+(?:\.\d+)*$/;
const PHASE_HEADING_RE = /^##[ \t]+Phase[ \t]+(\d+(?:\.\d+)*)(?![\d.])/i;
const HEADING_RE = /^(#{1,6})(?=[ \t]|$)/;
const FENCE_RE = /^(```|~~~)/;
const RULE_RE = /^(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$/;
const ISO_UTC_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|\+00:00)$/;

/** The seed's header, used when the log does not exist yet. */
const NEW_LOG_HEADER = [
  '# Task Outcomes Log', '', 'Instructions:',
  '- For each completed Task X.Y, append evidence under its section.',
  '- Include: Outputs Summary, Validation Evidence, Verification Notes, Artifacts, Executor, Timestamp (ISO-8601).',
  '- Link artifacts with repository paths or commit SHAs.', '',
  'Template (copy into the appropriate task section when recording results):',
  ...FIELDS.map(([, label]) => `- ${label}:`), '', '---', '',
].join('\n');

interface Block { start: number; end: number; order: FieldKey[]; raw: Partial<Record<FieldKey, string[]>> }
interface Section { id: string; start: number; end: number; blocks: Block[] }
interface Phase { number: string | null; text: string; start: number; end: number }
/** Lines plus the exact separator that followed each one ('' for the last), so joins are byte-exact. */
interface Doc { lines: string[]; seps: string[] }

/**
 * The canonical form of a field value, i.e. what survives a render → parse round trip:
 * CR/CRLF become LF, trailing whitespace is dropped from each line, and the whole value is trimmed.
 */
export function normalizeOutcomeValue(value: string): string {
  return value.replace(/\r\n?/g, '\n').split('\n').map((l) => l.trimEnd()).join('\n').trim();
}

export function parseOutcomes(text: string): Map<string, OutcomeEntry> {
  const { lines } = splitDoc(text);
  const entries = new Map<string, { line: number; blocks: Block[] }>();
  for (const s of outline(lines).tasks) {
    const e = entries.get(s.id);
    if (e) e.blocks.push(...s.blocks);
    else entries.set(s.id, { line: s.start + 1, blocks: [...s.blocks] });
  }
  const result = new Map<string, OutcomeEntry>();
  for (const [taskId, { line, blocks }] of entries) {
    const values = blocks.map(blockValues);
    const filledValues = values.filter((v) => (v.timestamp ?? '') !== '');
    const fields = filledValues.at(-1) ?? values[0] ?? {};
    result.set(taskId, { taskId, line, fields, filled: filledValues.length > 0 });
  }
  return result;
}

export function doneTaskIdsFromOutcomes(text: string): Set<string> {
  return new Set([...parseOutcomes(text).values()].filter((e) => e.filled).map((e) => e.taskId));
}

/** The six bullets in the seed's order, joined by LF, without a trailing newline. */
export function renderOutcomeBlock(fields: OutcomeFields): string {
  return FIELDS.map(([k, label]) => {
    const [first, ...rest] = normalizeOutcomeValue(fields[k]).split('\n');
    const head = first === '' ? `- ${label}:` : `- ${label}: ${first}`;
    return [head, ...rest.map((l) => (l === '' ? '' : `  ${l}`))].join('\n');
  }).join('\n');
}

/**
 * Returns the new log text; `current` null starts a log with the seed's header. Fills the task's
 * empty template block in place, else appends a block to its section, else creates the section
 * (in id order within its phase section; a missing phase section goes at the end of the file).
 * A created section's heading is `### <id> <title>`, so `parseOutcomes` finds it under the id.
 * Idempotent: a task that already has a filled entry leaves `current` untouched.
 * @throws Error when the id is not a task list id, the title or phase heading is not one line, or
 *   the timestamp is not ISO-8601 UTC.
 */
export function recordOutcome(current: string | null, task: OutcomeTask, fields: OutcomeFields): string {
  validate(task, fields);
  if (current !== null && parseOutcomes(current).get(task.id)?.filled) return current;
  const text = current ?? NEW_LOG_HEADER;
  const eol = detectEol(text);
  const doc = splitDoc(text);
  const { tasks, phases, rules } = outline(doc.lines);
  const block = renderOutcomeBlock(fields).split('\n');
  const taskLines = [entryHeading(task), ...block];

  const section = tasks.find((s) => s.id === task.id);
  if (section) {
    const template = section.blocks.find(isEmptyTemplate);
    if (template) {
      replaceLines(doc, template.start, template.end, block, eol);
    } else {
      const at = lastContent(doc.lines, section.start, section.end);
      insertAfter(doc, at, at === section.start ? block : ['', ...block], eol);
    }
    return joinDoc(doc);
  }

  const wanted = task.phase;
  const phase = wanted && phases.find((p) => p.number === wanted.number || p.text === wanted.heading.trim());
  if (phase) {
    const later = tasks.find((s) => s.start > phase.start && s.start < phase.end && compareIds(s.id, task.id) > 0);
    if (later) insertAfter(doc, later.start - 1, [...taskLines, ''], eol);
    else insertAfter(doc, lastContent(doc.lines, phase.start, phase.end), ['', ...taskLines], eol);
    return joinDoc(doc);
  }

  const last = doc.lines.findLastIndex((l) => l.trim() !== '');
  const lead = last < 0 ? [] : rules && !RULE_RE.test(doc.lines[last]) ? ['', '---', ''] : [''];
  const phaseLines = wanted ? [`## ${wanted.heading.trim()}`, ''] : [];
  insertAfter(doc, last, [...lead, ...phaseLines, ...taskLines], eol);
  return joinDoc(doc);
}

/** `### <id> <title>` (`### <id>` for an empty title). */
function entryHeading(task: OutcomeTask): string {
  const title = task.title.trim();
  return title ? `### ${task.id} ${title}` : `### ${task.id}`;
}

function validate(task: OutcomeTask, fields: OutcomeFields): void {
  if (!TASK_ID_RE.test(task.id) || TASK_HEADING_RE.exec(entryHeading(task))?.[1] !== task.id) {
    throw new Error(`outcomes log: ${JSON.stringify(task.id)} is not a task id (like 2.1 or BE-2.1)`);
  }
  if (/[\r\n]/.test(task.title + (task.phase?.heading ?? ''))) {
    throw new Error(`outcomes log: headings must be one line: task ${task.id}'s title and phase heading`);
  }
  if (!ISO_UTC_RE.test(fields.timestamp.trim())) {
    throw new Error(`outcomes log: timestamp must be ISO-8601 UTC, got ${JSON.stringify(fields.timestamp)}`);
  }
}

function splitDoc(text: string): Doc {
  const parts = text.split(/(\r?\n)/);
  const lines = parts.filter((_, i) => i % 2 === 0);
  return { lines, seps: lines.map((_, i) => parts[2 * i + 1] ?? '') };
}

function joinDoc(doc: Doc): string {
  return doc.lines.map((l, i) => l + doc.seps[i]).join('');
}

function detectEol(text: string): string {
  const i = text.indexOf('\n');
  return i > 0 && text[i - 1] === '\r' ? '\r\n' : '\n';
}

function outline(lines: string[]): { tasks: Section[]; phases: Phase[]; rules: boolean } {
  const inFence = fenceMask(lines);
  const [tasks, phases]: [Section[], Phase[]] = [[], []];
  const rules = lines.some((line, idx) => !inFence[idx] && RULE_RE.test(line));
  const headings = lines.flatMap((line, idx) => {
    const m = inFence[idx] ? null : HEADING_RE.exec(line);
    return m ? [{ idx, level: m[1].length }] : [];
  });
  const endOf = (h: number, maxLevel: number): number =>
    headings.slice(h + 1).find((x) => x.level <= maxLevel)?.idx ?? lines.length;
  headings.forEach(({ idx, level }, h) => {
    const line = lines[idx];
    const task = level === 3 ? TASK_HEADING_RE.exec(line) : null;
    if (task) {
      const end = endOf(h, 3);
      tasks.push({ id: task[1], start: idx, end, blocks: scanBlocks(lines, inFence, idx + 1, end) });
    } else if (level === 2) {
      const text = line.replace(/^##[ \t]*/, '').trim();
      phases.push({ number: PHASE_HEADING_RE.exec(line)?.[1] ?? null, text, start: idx, end: endOf(h, 2) });
    }
  });
  return { tasks, phases, rules };
}

/** True for column-0 fence lines and everything between them. */
function fenceMask(lines: string[]): boolean[] {
  let open: string | null = null;
  return lines.map((line) => {
    const fence = FENCE_RE.exec(line)?.[1] ?? null;
    if (open === null) return (open = fence) !== null;
    if (fence === open && line.slice(3).trim() === '') open = null;
    return true;
  });
}

function scanBlocks(lines: string[], inFence: boolean[], from: number, to: number): Block[] {
  const blocks: Block[] = [];
  let block: Block | null = null;
  let field: FieldKey | null = null;
  for (let i = from; i < to; i++) {
    const line = lines[i];
    const m = inFence[i] ? null : FIELD_RE.exec(line);
    if (m) {
      const key = keyOf(m[1]);
      if (!block || block.raw[key]) blocks.push((block = { start: i, end: i, order: [], raw: {} }));
      block.raw[key] = [m[2]];
      block.order.push(key);
      [block.end, field] = [i + 1, key];
      continue;
    }
    if (field && block && !inFence[i]) {
      let j = i;
      while (j < to && lines[j].trim() === '') j++;
      if (j < to && !inFence[j] && /^[ \t]/.test(lines[j])) {
        const raw = block.raw[field] as string[];
        for (let k = i; k < j; k++) raw.push('');
        raw.push(lines[j].startsWith('  ') ? lines[j].slice(2) : lines[j].slice(1));
        block.end = j + 1;
        i = j;
        continue;
      }
    }
    field = null;
    if (line.trim() !== '') block = null;
  }
  return blocks;
}

function keyOf(label: string): FieldKey {
  return label === 'Artifacts' ? 'artifacts' : (FIELDS.find(([, l]) => l === label) as (typeof FIELDS)[number])[0];
}

function blockValues(block: Block): Partial<Record<FieldKey, string>> {
  const values: Partial<Record<FieldKey, string>> = {};
  for (const k of block.order) values[k] = normalizeOutcomeValue((block.raw[k] as string[]).join('\n'));
  return values;
}

/** Exactly the six template bullets, in order, each empty and single-line. */
function isEmptyTemplate(block: Block): boolean {
  return (
    block.end - block.start === FIELDS.length &&
    FIELDS.every(([k], i) => block.order[i] === k && block.raw[k]?.length === 1 && block.raw[k]?.[0].trim() === '')
  );
}

/** Index of the last line in (start, end) that is neither blank nor a thematic break; `start` if none. */
function lastContent(lines: string[], start: number, end: number): number {
  for (let i = end - 1; i > start; i--) if (lines[i].trim() !== '' && !RULE_RE.test(lines[i])) return i;
  return start;
}

function replaceLines(doc: Doc, start: number, end: number, repl: string[], eol: string): void {
  const seps = repl.map((_, i) => (start + i < end - 1 ? doc.seps[start + i] : eol));
  seps[seps.length - 1] = doc.seps[end - 1];
  doc.lines.splice(start, end - start, ...repl);
  doc.seps.splice(start, end - start, ...seps);
}

/** Inserts after line `idx` (-1: at the top); keeps a missing final newline missing. */
function insertAfter(doc: Doc, idx: number, added: string[], eol: string): void {
  const seps = added.map(() => eol);
  if (idx >= 0 && doc.seps[idx] === '') {
    doc.seps[idx] = eol;
    seps[seps.length - 1] = '';
  }
  doc.lines.splice(idx + 1, 0, ...added);
  doc.seps.splice(idx + 1, 0, ...seps);
}

/** Ids compared by their dotted numbers (prefix ignored): 2.9 < 2.10 < 3. */
function compareIds(a: string, b: string): number {
  const [x, y] = [a, b].map((id) => id.replace(/^.*-/, '').split('.').map(Number));
  for (let i = 0; i < Math.max(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] ?? -1) - (y[i] ?? -1);
  return 0;
}
