/**
 * Reads what the task list needs from the mdast tree, in one iterative walk in document order:
 * the top-level headings (phases, heading tasks and section ends), the checkbox task items, the
 * lines a reader does not see as text (code and HTML), and the shell blocks. Pure.
 */
import type { Heading, ListItem, Nodes, Root } from 'mdast';
import { HEADING_RE, stripClosingHashes, TASK_RE } from './grammar.ts';
import { scriptOf } from './markdown.ts';
import { itemContentColumn, type Container, type Source } from './source.ts';
import type { TaskScript } from './types.ts';

export interface HeadingEvent {
  kind: 'heading';
  /** First and last line (a setext heading spans two or more). */
  line: number;
  endLine: number;
  level: number;
  /** Text after the `#`s, closing sequence kept (setext: its lines joined by one space). */
  text: string;
  /** `text` without an ATX closing sequence. */
  content: string;
}

export interface CheckboxEvent {
  kind: 'checkbox';
  /** Line of the box (the item's first line). */
  line: number;
  /** Last line of the list item. */
  endLine: number;
  /** Offsets of the list item in the source. */
  start: number;
  end: number;
  checked: boolean;
  /** The item's first line after the box and its whitespace, trailing whitespace removed. */
  text: string;
  /** Block quotes and list items around the item's content, outermost first, the item last. */
  chain: Container[];
}

export interface ScriptBlock {
  line: number;
  start: number;
  end: number;
  script: TaskScript;
}

export interface Outline {
  events: Array<HeadingEvent | CheckboxEvent>;
  /** `literal[n]` is 1 when line n starts inside a code block, a code span or HTML (HTML block, comment, tag). */
  literal: Uint8Array;
  /** sh/bash/shell fenced code blocks, document order. */
  scripts: ScriptBlock[];
}

interface Entry {
  node: Nodes;
  parent: Entry | null;
  /** Inside a checkbox task's item: its task-looking sub-items are body text. */
  inTask: boolean;
}

const FLOW_PARENTS = new Set(['root', 'blockquote', 'listItem', 'footnoteDefinition']);

export function outline(tree: Root, src: Source): Outline {
  const events: Outline['events'] = [];
  const literal = new Uint8Array(src.lines.length + 2);
  const scripts: ScriptBlock[] = [];
  const mark = (from: number, to: number): void => {
    literal.fill(1, from, to + 1);
  };
  const stack: Entry[] = [{ node: tree, parent: null, inTask: false }];
  while (stack.length) {
    const entry = stack.pop()!;
    const { node } = entry;
    let inTask = entry.inTask;
    const pos = node.position;
    // micromark ends a fence left open at the end of a list item at column 1 of the next line.
    const endLine = pos && pos.end.column === 1 && pos.end.line > pos.start.line ? pos.end.line - 1 : (pos?.end.line ?? 0);
    if (pos && node.type === 'heading' && entry.parent?.node.type === 'root') {
      events.push(headingEvent(node, src));
    } else if (pos && node.type === 'listItem' && typeof node.checked === 'boolean' && !inTask) {
      const ev = checkboxEvent(node, entry, src);
      if (ev) events.push(ev), (inTask = true);
    } else if (pos && node.type === 'code') {
      mark(pos.start.line, endLine);
      const script = scriptOf(node);
      if (script) scripts.push({ line: pos.start.line, start: pos.start.offset!, end: pos.end.offset!, script });
    } else if (pos && node.type === 'html') {
      mark(FLOW_PARENTS.has(entry.parent?.node.type ?? '') ? pos.start.line : pos.start.line + 1, endLine);
    } else if (pos && node.type === 'inlineCode') {
      mark(pos.start.line + 1, endLine);
    }
    if ('children' in node) {
      for (let i = node.children.length - 1; i >= 0; i--) stack.push({ node: node.children[i], parent: entry, inTask });
    }
  }
  return { events, literal, scripts };
}

function headingEvent(node: Heading, src: Source): HeadingEvent {
  const { start, end } = node.position!;
  const level = node.depth;
  const atx = start.line === end.line ? HEADING_RE.exec(src.lines[start.line - 1]) : null;
  if (atx) {
    const text = (atx[2] ?? '').trimEnd();
    return { kind: 'heading', line: start.line, endLine: end.line, level, text, content: stripClosingHashes(text) };
  }
  // Setext (§4.3): the content lines above the underline.
  const text = src.lines.slice(start.line - 1, Math.max(start.line, end.line - 1)).map((l) => l.trim()).join(' ');
  return { kind: 'heading', line: start.line, endLine: end.line, level, text, content: text };
}

/**
 * A task list item whose first line, after the box, starts with a task id; null otherwise. The
 * box must be on the item's first line, as GitHub renders it (GFM §5.3).
 */
function checkboxEvent(node: ListItem, entry: Entry, src: Source): CheckboxEvent | null {
  const { start, end } = node.position!;
  const box = src.text.indexOf('[', start.offset!);
  const line = start.line;
  const lineText = src.lines[line - 1];
  const lineStart = src.starts[line - 1];
  if (box < 0 || box + 3 > lineStart + lineText.length) return null;
  const after = lineText.slice(box - lineStart + 3);
  if (after !== '' && after[0] !== ' ' && after[0] !== '\t') return null;
  const text = after.trim();
  if (!TASK_RE.test(text)) return null;
  const chain: Container[] = [];
  for (let e: Entry | null = entry; e; e = e.parent) {
    const n = e.node;
    if (n.type === 'blockquote') chain.push({ kind: 'quote' });
    else if (n.type === 'listItem') {
      const at = n.position!.start;
      chain.push({ kind: 'item', contentCol: itemContentColumn(src.lines[at.line - 1], at.offset! - src.starts[at.line - 1]) });
    }
  }
  // The item ends where its last child does: micromark can end an item whose fence is left open
  // at the next item's marker. An end at column 1 is the end of the line before.
  const last = node.children.at(-1)?.position?.end ?? end;
  const endLine = last.column === 1 && last.line > line ? last.line - 1 : last.line;
  return { kind: 'checkbox', line, endLine, start: start.offset!, end: last.offset!, checked: node.checked!, text, chain: chain.reverse() };
}
