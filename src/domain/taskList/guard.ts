/**
 * Keeps parsing linear-time. micromark, the CommonMark parser used here, is not linear on every
 * input (measured on micromark 4.0.3, see the report in the commit history):
 * - containers nested thousands deep (`>>>>…`, `- - - …`) take time quadratic in the depth and
 *   then overflow the call stack;
 * - a lazy continuation line (CommonMark §5.1) makes micromark scan back over the paragraph it
 *   continues, so a paragraph of n lazy lines costs n² (a 64 KB one took 20 s);
 * - emphasis, links, footnote calls and strikethrough resolve in quadratic time on crafted
 *   lines — those inline constructs are switched off (see `markdown.ts`), as nothing reads them.
 * (A fourth, list items ending before paragraphs, is handled by parsing in chunks: `chunks.ts`.)
 * These checks bound the first two before the real parse: nesting in one linear pass over the
 * lines, lazy paragraphs per chunk (only for a chunk with a very long run of lines, one extra
 * tokenizer pass that watches where micromark marks lines lazy). Input beyond the bounds is
 * rejected as `too_complex`: no task list written for people comes near them.
 */
import { parse, preprocess, type Options } from 'micromark';
import { isBlank, type Source } from './source.ts';
import { TaskListError } from './types.ts';

/** A micromark syntax extension. */
export type Extension = NonNullable<Options['extensions']>[number];

/** Most containers (block quotes, list items) open at once. */
export const MAX_NESTING = 100;
/** Most lines since a blank line or a new container at which a line may still be lazy. */
export const MAX_LAZY_RUN = 500;

const tooComplex = (line: number, what: string): TaskListError =>
  new TaskListError('too_complex', `Task list too complex to parse at line ${line}: ${what}`, [], line);

/** Block quote and list-item markers at the start of `line`, and the indentation between them. */
function prefix(line: string): { quotes: number; indent: number; markers: number } {
  let quotes = 0;
  let indent = 0;
  let markers = 0;
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === ' ') indent++, i++;
    else if (c === '\t') (indent += 4 - (indent % 4)), i++;
    else if (c === '>') quotes++, i++;
    else {
      let j = i;
      if (c === '-' || c === '*' || c === '+') j++;
      else {
        while (j < line.length && j - i < 10 && line[j] >= '0' && line[j] <= '9') j++;
        if (j === i || (line[j] !== '.' && line[j] !== ')')) break;
        j++;
      }
      if (j < line.length && line[j] !== ' ' && line[j] !== '\t') break;
      markers++;
      i = j;
    }
  }
  return { quotes, indent, markers };
}

/**
 * An upper bound on the containers open at each line (§5): a line continues at most one block
 * quote per `>` and one list item per 2 columns of indentation, never more than were open, and
 * opens at most one container per marker; a lazy line (non-blank after non-blank) keeps them all.
 * @throws TaskListError `too_complex` past MAX_NESTING.
 */
export function checkNesting(src: Source): void {
  let depth = 0;
  let prevBlank = true;
  src.lines.forEach((line, i) => {
    if (isBlank(line)) {
      prevBlank = true;
      return;
    }
    const p = prefix(line);
    const continued = Math.min(depth, p.quotes + Math.floor(p.indent / 2));
    const own = continued + p.markers + p.quotes;
    depth = prevBlank ? own : Math.max(own, depth);
    prevBlank = false;
    if (depth > MAX_NESTING) throw tooComplex(i + 1, `more than ${MAX_NESTING} nested block quotes or list items`);
  });
}

/**
 * A line that no paragraph continues across (with at most 3 spaces of indentation, so never
 * indented code, §4.4): an ATX heading (§4.2), a code fence (§4.5), or a bullet or `1.` list item with content
 * (these always start a new container or sit in code/HTML, §5.2). Thematic breaks are left out.
 */
const PARAGRAPH_BREAK_RE = /^ {0,3}(?:#{1,6}(?:[ \t]|$)|`{3,}[^`]*$|~{3}|(?:[-*+]|1[.)])[ \t]+\S)/;
const THEMATIC_RE = /^ {0,3}([-*_])[ \t]*\1[ \t]*\1[-*_ \t]*$/;

/**
 * Bounds micromark's lazy-line scan. Each lazy line costs at most the lines of the paragraph it
 * continues, which started after the last blank line, paragraph break or new container. When no
 * stretch between such lines is longer than MAX_LAZY_RUN there is nothing to check; otherwise the
 * document is tokenized line by line while watching the parser's own lazy marks, stopping at the
 * first lazy line too far into its paragraph (so the check itself stays linear). `lineBase`: lines
 * before `src` in the document (for the error's line).
 * @throws TaskListError `too_complex` for such a line.
 */
export function checkLazyRuns(src: Source, extensions: Extension[], lineBase = 0): void {
  let stretch = 0;
  let longest = 0;
  for (const line of src.lines) {
    stretch = isBlank(line) ? 0 : PARAGRAPH_BREAK_RE.test(line) && !THEMATIC_RE.test(line) ? 1 : stretch + 1;
    longest = Math.max(longest, stretch);
  }
  if (longest <= MAX_LAZY_RUN) return;
  const parser = parse({ extensions });
  const doc = parser.document();
  const pre = preprocess();
  const { lines, starts, text } = src;
  let since = 0;
  for (let i = 0; i < lines.length; i++) {
    const last = i === lines.length - 1;
    doc.write(pre(text.slice(starts[i], last ? text.length : starts[i + 1]), undefined, last));
    const lazy = parser.lazy[i + 1];
    since = isBlank(lines[i]) || lazy === undefined ? 0 : since + 1;
    if (lazy === true && since > MAX_LAZY_RUN) {
      throw tooComplex(lineBase + i + 1, `a paragraph inside a block quote or list item continues lazily (without its indentation or '>') more than ${MAX_LAZY_RUN} lines after its start`);
    }
  }
}
