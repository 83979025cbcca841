/**
 * The task list's own line-level grammar, applied to text the markdown parser has already
 * placed (a heading's text, a task item's first line, a visible body line): ids, titles,
 * dependency clauses and lines, `Files:` and `Changes:` lines. Pure; every regex is anchored and
 * written so that no input, however long, makes it backtrack super-linearly.
 */

/** `2.1`, `10.12`, `A-3`, `BE-2.1`: dotted numbers, optionally after a letter-led prefix and a dash. */
export const ID = String.raw`(?:[A-Za-z][A-Za-z0-9]*-)?\d+(?:\.\d+)*`;
export const ID_RE = new RegExp(`^${ID}$`);
/** An ATX heading line (CommonMark §4.2): up to 3 spaces, 1–6 `#`, then text. */
export const HEADING_RE = /^ {0,3}(#{1,6})(?:[ \t]+(.*))?$/s;
/** A literal box at the start of a heading's text: `[ ]`, `[x]`, `[X]`. */
export const BOX_RE = /^\[([ xX])\][ \t]+(.*)$/s;
/** A task line's text: optional `Task` word, the id, an optional `.`/`:`/`)`, then the title. */
export const TASK_RE = new RegExp(String.raw`^(?:task[ \t]+)?(${ID})[.:)]?(?:[ \t]+(.*))?$`, 'is');
/** A phase heading's text: `Phase 2: Title`, separator `:`, `.`, `)`, `-`, `–`, `—` or none. */
export const PHASE_RE = new RegExp(String.raw`^phase[ \t]*(${ID})(?=$|[\s:.)\-–—])[ \t]*[:.)\-–—]?[ \t]*(.*)$`, 'is');
const PHASE_WORD_RE = new RegExp(`^phase[-:]?(${ID})?$`, 'i');
const KEYWORD = String.raw`(dependencies|dependency|deps|depends[ \t]+on)`;
const CLAUSE_RE = new RegExp(String.raw`\([ \t]*(?:[*_]+[ \t]*)?${KEYWORD}`, 'gi');
const DEP_LINE_RE = new RegExp(String.raw`^[ \t]*(?:[-*+][ \t]+)?(?:[*_]+[ \t]*)?${KEYWORD}`, 'i');
const NONE_WORD_RE = /^(?:none|n\/a|nil|-|—|and|&)$/i;
/** Leading list marker of a body line (`- `, `* `, `+ `, `1. `, `1) `), after any indentation. */
const MARKER_RE = /^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+/;

export type Ref = { kind: 'task' | 'phase'; id: string };
export interface Deps {
  refs: Ref[];
  /** First unreadable piece of the dependency list, if any. */
  invalid: string | null;
}

const skipChars = (s: string, i: number, chars: string): number => {
  while (i < s.length && chars.includes(s[i])) i++;
  return i;
};

/** Removes an ATX closing sequence (`## Title ##`, CommonMark §4.2) without a backtracking regex. */
export function stripClosingHashes(text: string): string {
  let j = text.length;
  while (j > 0 && text[j - 1] === '#') j--;
  if (j === text.length) return text;
  if (j === 0) return '';
  return text[j - 1] === ' ' || text[j - 1] === '\t' ? text.slice(0, j).trimEnd() : text;
}

/** Parses a dependency value: `None`, `[1.2, 1.3]`, `Phase 4`, `1.1 and 1.2`, `Task 1.2`. */
export function parseRefs(value: string): Deps {
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

/** Splits `Title (Dependencies: …)` into title and dependencies (null: the title has no clause). */
export function splitTitle(rest: string): { title: string; deps: Deps | null } {
  const clause = findClause(rest);
  let title = rest;
  if (clause) {
    const after = rest.slice(clause.end).trim();
    title = rest.slice(0, clause.start).trimEnd() + (after ? ` ${after}` : '');
  }
  title = title.trim().replace(/^[-–—:][ \t]*/, '');
  return { title, deps: clause ? parseRefs(clause.value) : null };
}

/** A `Dependencies: …` line (`- **Dependencies:** …` too); null when the line is not one. */
export function depLine(line: string): Deps | null {
  const m = DEP_LINE_RE.exec(line);
  if (!m) return null;
  let i = skipChars(line, m[0].length, '*_ \t');
  if (line[i] !== ':') return null;
  i = skipChars(line, i + 1, '*_ \t');
  let end = line.length;
  while (end > i && '*_ \t'.includes(line[end - 1])) end--;
  return parseRefs(line.slice(i, end));
}

/**
 * The value of a `<keyword>: value` body line, or null when the line is not one. Tolerant like
 * the dependency line: indentation, a list marker (`- `, `* `, `+ `, `1. `) and emphasis around
 * the keyword (`**Files:**`, `**Files**:`, `_Files_:`) are allowed; the keyword is case-insensitive.
 * The value is returned trimmed, with a bold/italic closer right after the colon removed, and is
 * otherwise verbatim (a trailing `*` is kept: `src/**` is a glob).
 */
export function keywordLine(line: string, keyword: string): string | null {
  const marker = MARKER_RE.exec(line);
  let i = skipChars(line, marker ? marker[0].length : 0, ' \t');
  const open = skipChars(line, i, '*_');
  if (open - i > 2) return null;
  i = open;
  if (line.slice(i, i + keyword.length).toLowerCase() !== keyword) return null;
  i += keyword.length;
  const close = skipChars(line, i, '*_');
  if (close - i > 2) return null;
  i = skipChars(line, close, ' \t');
  if (line[i] !== ':') return null;
  const afterColon = skipChars(line, i + 1, '*_');
  if (afterColon - (i + 1) > 2) return null;
  return line.slice(afterColon).trim();
}

/**
 * Paths or globs of a `Files:` value: comma-separated, each entry trimmed and unwrapped from
 * backticks; empty entries dropped; the whole value may be wrapped in one pair of `[ ]`;
 * `None` (any case, alone) is the empty list.
 */
export function parseFiles(value: string): string[] {
  let v = value.trim();
  if (v.startsWith('[') && v.endsWith(']')) v = v.slice(1, -1).trim();
  if (/^none$/i.test(v)) return [];
  const out: string[] = [];
  for (const piece of v.split(',')) {
    let p = piece.trim();
    let a = 0;
    let b = p.length;
    while (a < b && p[a] === '`' && p[b - 1] === '`') a++, b--;
    p = p.slice(a, b).trim();
    if (p !== '') out.push(p);
  }
  return out;
}

/** True for a `Changes: none` value (any case; backticks, emphasis and a final `.` allowed). */
export function isNoChanges(value: string): boolean {
  return /^[`*_]*none[`*_]*\.?$/i.test(value.trim());
}
