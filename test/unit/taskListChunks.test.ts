/**
 * Chunked parsing (src/domain/taskList/chunks.ts) must give the same blocks as one parse of the
 * whole text: same nodes, types and positions, except that a list cut at a chunk boundary
 * becomes two lists (list nodes and item looseness are not compared; nothing reads them).
 */
import type { Nodes, Root } from 'mdast';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseInChunks } from '../../src/domain/taskList/chunks.ts';
import { parseWhole } from '../../src/domain/taskList/markdown.ts';
import { toSource } from '../../src/domain/taskList/source.ts';

/**
 * Every node but lists, as type, position and the fields the task list reads. An end at column 1
 * of a later line and an end at the end of the line before are the same place (micromark puts the
 * end of a fence left open in a list item at either, depending on what follows), and so is the
 * end of the blank lines after it.
 */
function blocks(tree: Root, md: string): string[] {
  const lines = md.split(/\r\n|\r|\n/);
  const end = (s: { line: number }, e: { line: number; column: number }) => {
    let line = e.column === 1 && e.line > s.line ? e.line - 1 : e.line;
    if (line !== e.line || e.column === lines[e.line - 1].length + 1) {
      while (line > s.line && lines[line - 1].trim() === '') line--; // trailing blank lines of an open fence
      return `${line}:eol`;
    }
    return `${line}:${e.column}`;
  };
  const out: string[] = [];
  const stack: Nodes[] = [tree];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.type !== 'list' && n.type !== 'root') {
      const p = n.position!;
      // A list item's end is not compared: micromark ends an item whose fence is left open at the
      // next item's marker in one parse, at the end of its own line in the other.
      const e = n.type === 'listItem' ? '' : end(p.start, p.end);
      const extra = n.type === 'listItem' ? n.checked : n.type === 'heading' ? n.depth : n.type === 'code' ? `${n.lang}|${n.value}` : 'value' in n ? n.value : '';
      out.push(`${n.type} ${p.start.line}:${p.start.column}:${p.start.offset}-${e} ${String(extra)}`);
    }
    if ('children' in n) for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]);
  }
  return out;
}
const chunked = (md: string, lines: number) => parseInChunks(toSource(md), (chunk) => parseWhole(chunk.text), lines);

const LINES = [
  '# Plan', '## Phase 1', '### 1.1 a', '- [ ] 1.2 b', '- [x] 1.3 c', '* item', '1. [ ] 2 one', '1) x', '2. [ ] 3 two', '  - [ ] 4 nested',
  '    indented', '', '', 'text', 'more text', '```sh', '```', '~~~', '````', '  ```', '<!--', '-->', '<div>', '</div>', '<!-- x -->',
  '| a | b |', '| - | - |', '| c | d |', '> quote', '> - [ ] 5 quoted', '---', '***', '- - -', '[^1]: note', '    more note', '[ref]: /url',
  '#', '-', '- ', 'Setext', '===', '\t- [ ] 6 tab', 'lazy line', '   ### 7 indented heading', '<script>', '</script>',
];

describe('chunked parsing', () => {
  it('gives the same blocks as one parse, for any mix of block-level lines', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...LINES), { maxLength: 60 }), fc.integer({ min: 1, max: 8 }), (lines, size) => {
        const md = `${lines.join('\n')}\n`;
        expect(blocks(chunked(md, size), md)).toEqual(blocks(parseWhole(md), md));
      }),
      { numRuns: 1500 },
    );
  });

  it('does not cut inside an unclosed fence, an HTML block or a table', () => {
    for (const md of ['```\n# not a heading\n- not an item\n', '<!--\n# hidden\n- hidden\n-->\n# after', '<div>\n# inside html\n</div>', '| a |\n| - |\n- row?\n# after']) {
      expect(blocks(chunked(md, 1), md)).toEqual(blocks(parseWhole(md), md));
    }
  });
});
