/**
 * Parsing a long task list in pieces. micromark copies all of a document's events each time a
 * list item ends before a paragraph or the next item (EditMap.consume in its document
 * tokenizer), which makes a list of n tasks cost n² (4,000 checkbox tasks with a paragraph
 * after each took 24 s). The document is therefore parsed in chunks of about CHUNK_LINES lines,
 * cut only before a line that starts a new top-level block in any case — an unindented ATX
 * heading (CommonMark §4.2), bullet list item with content or `1.` item (§5.2; they interrupt a
 * paragraph and end any list item or block quote) — and only where nothing at the top level is
 * left open to swallow that line (a fenced code block §4.5, an HTML block §4.6, a table). Chunk
 * trees are the whole tree's top-level blocks (a list cut in two becomes two lists; nothing here
 * reads list grouping). Pure.
 */
import type { Nodes, Root, RootContent } from 'mdast';

type Point = { line: number; column: number; offset?: number };
import { isBlank, toSource, type Source } from './source.ts';

export const CHUNK_LINES = 200;

const CUT_RE = /^(?:#{1,6}(?:[ \t]|$)|(?:[-*+]|1[.)])[ \t]+\S)/;
const THEMATIC_RE = /^ {0,3}([-*_])[ \t]*\1[ \t]*\1[-*_ \t]*$/;
const OPENER_RE = /^ {0,3}(`{3,}|~{3,})/;
const CLOSER_RE = /^ {0,3}(`{3,}|~{3,})[ \t]*$/;

/** 1-based lines before which a chunk may start. */
export function cutCandidates(src: Source): number[] {
  const out: number[] = [];
  src.lines.forEach((line, i) => {
    if (i > 0 && CUT_RE.test(line) && !THEMATIC_RE.test(line)) out.push(i + 1);
  });
  return out;
}

/**
 * Parses `src` chunk by chunk with `parseChunk` (given a chunk's own source and its first line)
 * and returns one root whose positions index `src`. A chunk whose end leaves a top-level block
 * open is re-parsed with the following text, doubling its length each time, so the total
 * re-parsing stays within twice the input. `chunkLines`: the target chunk length (tests use 1).
 */
export function parseInChunks(src: Source, parseChunk: (chunk: Source, firstLine: number) => Root, chunkLines = CHUNK_LINES): Root {
  const n = src.lines.length;
  const cuts = cutCandidates(src);
  const children: RootContent[] = [];
  let ci = 0;
  for (let a = 1; a <= n; ) {
    let want = a + chunkLines;
    for (;;) {
      while (ci < cuts.length && cuts[ci] < want) ci++;
      const b = ci < cuts.length ? cuts[ci] : n + 1;
      const chunk = toSource(src.text.slice(src.starts[a - 1], b <= n ? src.starts[b - 1] : src.text.length));
      const tree = parseChunk(chunk, a);
      if (b > n || tailClosed(tree, chunk)) {
        shift(tree, chunk, a - 1, src.starts[a - 1], b <= n ? b - a : chunk.lines.length);
        children.push(...tree.children);
        a = b;
        break;
      }
      want = b + (b - a);
    }
  }
  const end = { line: n, column: src.lines[n - 1].length + 1, offset: src.text.length };
  return { type: 'root', children, position: { start: { line: 1, column: 1, offset: 0 }, end } };
}

/** False when the chunk's last top-level block may continue into the next line. */
function tailClosed(tree: Root, chunk: Source): boolean {
  const last = tree.children.at(-1);
  if (!last?.position) return true;
  let lastLine = chunk.lines.length;
  while (lastLine > 1 && isBlank(chunk.lines[lastLine - 1])) lastLine--;
  if (last.position.end.line < lastLine) return true;
  if (last.type === 'html' || last.type === 'table') return false;
  if (last.type !== 'code') return true;
  const { start, end } = last.position;
  const open = OPENER_RE.exec(chunk.lines[start.line - 1]);
  if (!open) return true; // indented code: an unindented line ends it
  const close = end.line > start.line ? CLOSER_RE.exec(chunk.lines[end.line - 1]) : null;
  return !!close && close[1][0] === open[1][0] && close[1].length >= open[1].length;
}

/**
 * Moves every position of a chunk's tree by whole lines. A point past the chunk's last line (an
 * unclosed fence or its list item "ends" after the final line ending) is moved back to the end of
 * that line, where a parse of the whole text ends it.
 */
function shift(tree: Root, chunk: Source, lines: number, offset: number, lastLine: number): void {
  const lineEnd = { line: lastLine, column: chunk.lines[lastLine - 1].length + 1, offset: chunk.starts[lastLine - 1] + chunk.lines[lastLine - 1].length };
  const move = (pt: Point): Point => {
    const p = pt.line > lastLine ? lineEnd : pt;
    return { line: p.line + lines, column: p.column, offset: (p.offset ?? 0) + offset };
  };
  const stack: Nodes[] = [tree];
  while (stack.length) {
    const node = stack.pop()!;
    if (node.position) node.position = { start: move(node.position.start), end: move(node.position.end) };
    if ('children' in node) for (const c of node.children) stack.push(c);
  }
}
