/**
 * Markdown task lists: parse tasks and their dependencies, pick the next task to run. Pure (no I/O).
 *
 * The list means what a markdown reader sees: it is parsed as CommonMark 0.31 + GitHub Flavored
 * Markdown (micromark via mdast-util-from-markdown, see `taskList/markdown.ts`) and the tasks are
 * read from that tree. Whatever GitHub does not render as a heading or a task list item — text
 * in a fenced or indented code block (CommonMark §4.4, §4.5), an HTML block or comment (§4.6),
 * an item whose box is not on its first line — is not a task. One parsed model feeds selection,
 * the agent prompt (`body`), the script agent (`script`) and the outcomes log (`id`, `title`).
 *
 * Accepted syntax:
 * - Phase headings, any level, top-level only (not inside a list or quote):
 *   `## Phase 2: Title (Dependencies: [Phase 1])` (`phase`/`PHASE` too; separator `:`, `.`, `-`,
 *   `–`, `—` or none; a setext heading §4.3 too). A non-phase heading of the same or a higher
 *   level (`## Notes`) ends the phase: later tasks have `phase: null`. A phase heading deeper than
 *   the current heading task (`#### Phase 2 notes` under `### 2.1`) is body text.
 * - Task headings, levels 3–6, top-level: `### 2.1 Title`, `### 2.1. Title`, `### Task 2.1: Title`,
 *   `### [x] 2.1 Title` (a literal box sets `checked`). `#`/`##` headings are never tasks; any
 *   level-3+ heading whose text starts with an id is one.
 * - Checkbox tasks: GFM task list items (GFM §5.3) whose first line, after the box, starts with an
 *   id: `- [ ] 2.1 Title`, `* [X] …`, `+ [x] …`, `1. [ ] …`, `2) [ ] …`, at any nesting (inside
 *   other lists, block quotes). A task item inside another checkbox task's item is a sub-item in
 *   that task's body; under a heading task every task item is a task. Items without an id are text.
 * - Ids: `\d+(\.\d+)*` (`1`, `2.1`, `10.12`), optionally after a letter-led prefix and a dash
 *   (`A-3`, `BE-2.1`). Ids are case-sensitive.
 * - Dependencies: a `(Dependencies: …)` clause anywhere in the title (the last one counts; also
 *   `Dependency`, `Deps`, `Depends on`, bold keyword) or, when the title has none, a `Dependencies: …`
 *   line as the first non-blank line of the body, or under the phase heading (`- **Dependencies:** …`
 *   too; not inside code or HTML). Values: `None`, `[]`, `[1.2, 1.3]`, `[3.3,5.2]`, `1.2 and 1.3`,
 *   `Task 1.2`, `Phase 4` (any case; = all tasks of that phase). Anything else in a dependency list is
 *   an `unknown_dependency` error.
 * - Body (`body`): the task's content as written, line endings normalised to `\n`, leading and
 *   trailing blank lines trimmed. Heading task: the lines after the heading up to the next task
 *   (heading or task item), phase heading, or top-level heading of the same or a higher level,
 *   verbatim. Checkbox task: the lines of its list item after the first, with the item's
 *   container prefixes (indentation up to the item's content column, `>` of enclosing quotes)
 *   removed, so the body reads as markdown on its own.
 * - Script (`script`): the first fenced code block whose info string's language is `sh`, `bash`
 *   or `shell` (any case) anywhere in the task's content as the tree sees it — inside a nested
 *   list item or block quote too; a ```sh example inside a ```markdown fence is text. `code` is
 *   the block's content (trailing blank lines dropped) plus a final `\n`. `extractScript` (script
 *   agent) reads a body with the same code, so it finds the same script in `body`.
 * - Files (`files`): every line of the body, outside code and HTML, of the form
 *   `Files: src/a.ts, docs/*.md` — keyword `Files` in any case, optionally after a list marker
 *   (`- Files: …`) and/or in emphasis (`**Files:** …`, `**Files**: …`); the value is
 *   comma-separated paths or globs, each trimmed and unwrapped from backticks, the whole optionally
 *   in `[ ]`; `None` = no files. Entries of several lines add up, deduped, in order.
 * - No changes (`expectsNoChanges`): a body line `Changes: none` (same tolerant forms; `none` in any
 *   case, optionally in backticks or emphasis, optional final `.`): the task is expected to change
 *   no files (a check-only task). Without it, an attempt that changes nothing counts as failed.
 *   Other `Changes:` values mean nothing.
 *
 * Errors are `TaskListError`s with a code, the ids involved and a 1-based line: `duplicate_id`,
 * `unknown_dependency`, `unknown_phase`, `cycle`, `no_tasks` (line 0), and `too_complex` for input
 * past the parser's linear-time bounds (`taskList/guard.ts`).
 *
 * Cost: linear in the input, at micromark's speed (about 4–6 µs per byte here, some 20–200 times
 * the old line scanner). micromark is super-linear on some inputs; `taskList/markdown.ts` turns
 * off the inline constructs concerned, `taskList/chunks.ts` parses long lists in chunks and
 * `taskList/guard.ts` bounds nesting and lazy paragraphs.
 */
import { draft } from './taskList/drafts.ts';
import { parseMarkdown } from './taskList/markdown.ts';
import { outline } from './taskList/outline.ts';
import { resolve } from './taskList/resolve.ts';
import { TaskListError, type TaskList } from './taskList/types.ts';

export { firstScript, SCRIPT_LANGS } from './taskList/markdown.ts';
export { selectNext } from './taskList/select.ts';
export { TaskListError } from './taskList/types.ts';
export type { Phase, Selection, Task, TaskList, TaskListErrorCode, TaskScript, TaskSource } from './taskList/types.ts';

/**
 * Parses a markdown task list into tasks (document order) and phases.
 * @throws TaskListError on structural problems (see the module doc for the codes).
 */
export function parseTaskList(markdown: string): TaskList {
  const { tree, source } = parseMarkdown(markdown);
  const { tasks, phases } = draft(outline(tree, source), source);
  if (tasks.length === 0) {
    throw new TaskListError('no_tasks', "No tasks found: expected headings like '### 1.1 Title' or checkboxes like '- [ ] 1.1 Title'", [], 0);
  }
  return resolve(tasks, phases);
}
