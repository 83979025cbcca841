/**
 * The task list model: what `parseTaskList` returns and `selectNext` reads. See
 * `src/domain/taskList.ts` for the syntax each field comes from.
 */

export interface Phase {
  /** 'Phase 2' */
  id: string;
  /** '2' */
  number: string;
  title: string;
  /** The heading's text verbatim (after the `#`s; a setext heading's lines joined by one space). */
  heading: string;
  /** 1-based line of the heading. */
  line: number;
  /** Task ids after expanding phase references, document order. */
  dependsOn: string[];
}

/** The first shell block of a task: a fenced code block whose info string's language is sh, bash or shell. */
export interface TaskScript {
  /** 'sh' | 'bash' | 'shell' (lower-cased). */
  lang: string;
  /** The block's content as the parser reads it (fence indentation removed), line endings as `\n`, trailing blank lines dropped, plus a final `\n`. */
  code: string;
}

/** Where a task was written. */
export interface TaskSource {
  /** 1-based line of the task's heading or box (same as `Task.line`). */
  line: number;
  kind: 'heading' | 'checkbox';
  /** Heading depth (3–6) for a heading task; list nesting depth (1 = a top-level list) for a checkbox task. */
  level: number;
}

export interface Task {
  id: string;
  title: string;
  phase: Phase | null;
  /** Own + phase dependencies, phase refs expanded, deduped, in document order of the dependency. */
  dependencies: string[];
  /** As written (phase refs expanded), deduped. */
  ownDependencies: string[];
  /** The task's content as written, without its task line (list items de-indented); see the module doc. */
  body: string;
  /** null for heading-style tasks without a box. */
  checked: boolean | null;
  /** 1-based line of the task's heading or box. */
  line: number;
  /** Heading text verbatim after '### ' (or after '- [ ] ' for checkbox tasks), box included for a heading task. */
  heading: string;
  /** The first sh/bash/shell fenced code block in the task's content, or null. */
  script: TaskScript | null;
  /** Paths or globs from the body's `Files:` lines, in order, deduped; [] when none. */
  files: string[];
  /** True when the body has a `Changes: none` line: the task is expected to change no files. */
  expectsNoChanges: boolean;
  source: TaskSource;
}

export interface TaskList {
  tasks: Task[];
  phases: Phase[];
}

/**
 * `too_complex`: the input is past the parser's safety bounds (containers nested more than 100
 * deep, or a paragraph continued lazily for hundreds of lines) — see `guard.ts`.
 */
export type TaskListErrorCode = 'duplicate_id' | 'unknown_dependency' | 'cycle' | 'no_tasks' | 'unknown_phase' | 'too_complex';

/** `ids` names the tasks/phases involved; `line` is 1-based (0 for `no_tasks`). */
export class TaskListError extends Error {
  override readonly name = 'TaskListError';
  constructor(
    readonly code: TaskListErrorCode,
    message: string,
    readonly ids: string[],
    readonly line: number,
  ) {
    super(message);
  }
}

/** What `selectNext` found; ids in document order. */
export interface Selection {
  next: Task | null;
  completedTaskIds: string[];
  skippedTaskIds: string[];
  blockedTaskIds: string[];
  counts: { total: number; done: number; skipped: number; remaining: number };
}
