/**
 * The one markdown parser behind the task list, the script agent and everything else that reads a
 * task: CommonMark 0.31 + GitHub Flavored Markdown (tables, task list items, footnote
 * definitions) via micromark and mdast-util-from-markdown, giving an mdast tree with positions.
 * Pure.
 *
 * Inline constructs whose results nothing here reads — emphasis, links and images, footnote
 * calls, strikethrough, autolink literals — are switched off (micromark's `disable.null`): block
 * structure does not depend on them (CommonMark "Blocks and inlines": blocks are parsed first),
 * and micromark resolves them in quadratic time on crafted lines. Code spans, inline HTML,
 * escapes and the task list check (GFM §5.3) stay on.
 */
import type { Code, Nodes, Root } from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { gfm } from 'micromark-extension-gfm';
import { parseInChunks } from './chunks.ts';
import { checkLazyRuns, checkNesting, type Extension } from './guard.ts';
import { toSource, type Source } from './source.ts';
import { TaskListError, type TaskScript } from './types.ts';

const OFF: Extension = {
  disable: {
    null: ['attention', 'labelStartLink', 'labelStartImage', 'labelEnd', 'gfmFootnoteCall', 'gfmPotentialFootnoteCall', 'strikethrough', 'wwwAutolink', 'protocolAutolink', 'emailAutolink'],
  },
};
const EXTENSIONS: Extension[] = [gfm(), OFF];
const MDAST_EXTENSIONS = gfmFromMarkdown();

/** One micromark + mdast parse of a whole text, no chunks and no guards (for tests and tools). */
export const parseWhole = (text: string): Root => fromMarkdown(text, { extensions: EXTENSIONS, mdastExtensions: MDAST_EXTENSIONS });

/** Languages whose fenced blocks are task scripts (compared lower-cased). */
export const SCRIPT_LANGS: ReadonlySet<string> = new Set(['sh', 'bash', 'shell']);

/**
 * Parses markdown into an mdast tree (in chunks, see `chunks.ts`). A leading byte order mark is
 * removed first, so that the tree's offsets index `source.text`.
 * @throws TaskListError `too_complex` for input past the guard's bounds (or, as a last resort,
 *   when the parser overflows the call stack).
 */
export function parseMarkdown(markdown: string): { tree: Root; source: Source } {
  const source = toSource(markdown.charCodeAt(0) === 0xfeff ? markdown.slice(1) : markdown);
  checkNesting(source);
  const tree = parseInChunks(source, (chunk, firstLine) => {
    checkLazyRuns(chunk, EXTENSIONS, firstLine - 1);
    try {
      return parseWhole(chunk.text);
    } catch (e) {
      if (e instanceof RangeError) throw new TaskListError('too_complex', `Task list too complex to parse: ${e.message}`, [], firstLine);
      throw e;
    }
  });
  return { tree, source };
}

/**
 * The script of a `code` node, or null when its language is not sh/bash/shell (an indented block
 * has none). Trailing blank lines are dropped (an unclosed fence runs on over them, §4.5), so a
 * task's script and the script of its trimmed body are the same.
 */
export function scriptOf(node: Code): TaskScript | null {
  const lang = node.lang?.toLowerCase() ?? '';
  if (!SCRIPT_LANGS.has(lang)) return null;
  const lines = node.value.split(/\r\n|\r|\n/);
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  return { lang, code: `${lines.join('\n')}\n` };
}

/**
 * The first sh/bash/shell fenced code block of a markdown text, as the tree sees it: blocks in
 * list items and block quotes count; a fence inside another fence (a ```sh example inside a
 * ```markdown block), HTML or an HTML comment is text, not a block.
 * @throws TaskListError `too_complex` (see `parseMarkdown`).
 */
export function firstScript(markdown: string): TaskScript | null {
  const stack: Nodes[] = [parseMarkdown(markdown).tree];
  while (stack.length) {
    const node = stack.pop()!;
    if (node.type === 'code') {
      const script = scriptOf(node);
      if (script) return script;
    } else if ('children' in node) {
      for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]);
    }
  }
  return null;
}
