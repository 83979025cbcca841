/**
 * The task list's source text as lines: CommonMark line endings (§2.1: `\n`, `\r\n` or `\r`),
 * 1-based line numbers (as in the parser's positions), visual columns with tab stops of 4
 * (§2.2), and removal of container prefixes (block quote markers §5.1, list item indentation
 * §5.2) from a list item's lines so its content reads as if it stood alone. Pure.
 */

export interface Source {
  text: string;
  /** The lines without their endings; `lines[n - 1]` is line n. */
  lines: string[];
  /** Offset of the first character of each line. */
  starts: number[];
}

/** A container around a task item, outermost first: a block quote, or a list item and its content column. */
export type Container = { kind: 'quote' } | { kind: 'item'; contentCol: number };

export function toSource(text: string): Source {
  const lines: string[] = [];
  const starts: number[] = [];
  const re = /\r\n|\r|\n/g;
  let at = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    lines.push(text.slice(at, m.index));
    starts.push(at);
    at = m.index + m[0].length;
  }
  lines.push(text.slice(at));
  starts.push(at);
  return { text, lines, starts };
}

export const isBlank = (s: string): boolean => s.trim() === '';

/** Visual column (0-based, tabs to the next multiple of 4) of character `index` of `line`. */
export function columnAt(line: string, index: number): number {
  let col = 0;
  for (let i = 0; i < index && i < line.length; i++) col = line[i] === '\t' ? col + 4 - (col % 4) : col + 1;
  return col;
}

/**
 * Content column of a list item whose marker starts at character `index` of `line` (§5.2): the
 * marker's end plus the spaces after it (1–4), or plus 1 when 5 or more follow or nothing does.
 */
export function itemContentColumn(line: string, index: number): number {
  let i = index;
  if (line[i] === '-' || line[i] === '*' || line[i] === '+') i++;
  else {
    while (i < line.length && line[i] >= '0' && line[i] <= '9') i++;
    i++; // `.` or `)`
  }
  const markerEnd = columnAt(line, i);
  let col = markerEnd;
  let j = i;
  while (j < line.length && (line[j] === ' ' || line[j] === '\t')) {
    col = line[j] === '\t' ? col + 4 - (col % 4) : col + 1;
    j++;
  }
  const spaces = col - markerEnd;
  return j === line.length || spaces >= 5 ? markerEnd + 1 : col;
}

/**
 * Removes the container prefixes from one line inside the innermost container: for a block
 * quote up to 3 spaces, `>` and one optional space; for a list item indentation up to its
 * content column. A lazy continuation line (§5.1) keeps what it has; a tab only partly
 * consumed leaves its remaining columns as spaces.
 */
export function stripContainers(line: string, chain: readonly Container[]): string {
  let i = 0;
  let col = 0;
  /** Columns of a tab consumed only in part, still to be used. */
  let pad = 0;
  const ws = (limit: number): void => {
    const take = Math.min(pad, Math.max(0, limit - col));
    pad -= take;
    col += take;
    while (pad === 0 && i < line.length && col < limit && (line[i] === ' ' || line[i] === '\t')) {
      const next = line[i] === '\t' ? col + 4 - (col % 4) : col + 1;
      if (next > limit) pad = next - limit;
      col = Math.min(next, limit);
      i++;
    }
  };
  for (const c of chain) {
    if (c.kind === 'item') {
      ws(c.contentCol);
      continue;
    }
    const save = { i, col, pad };
    ws(col + 3);
    if (pad > 0 || line[i] !== '>') {
      ({ i, col, pad } = save);
      break; // lazy line: no quote marker
    }
    i++;
    col++;
    if (line[i] === ' ' || line[i] === '\t') ws(col + 1);
  }
  return ' '.repeat(pad) + line.slice(i);
}

/** Drops leading and trailing blank lines. */
export function trimBlankLines<T>(items: T[], text: (t: T) => string): T[] {
  let a = 0;
  let b = items.length;
  while (a < b && isBlank(text(items[a]))) a++;
  while (b > a && isBlank(text(items[b - 1]))) b--;
  return items.slice(a, b);
}
