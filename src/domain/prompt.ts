/**
 * The agent prompt for one task attempt: a markdown document built only from its inputs, so the
 * same inputs always give byte-identical text and the same sha256 (recorded per attempt, which
 * makes reruns comparable and prompts auditable). Nothing time- or environment-dependent goes in:
 * no timestamps, no locale-aware sorting, no absolute paths.
 *
 * Every free-text input (task body, dependency outcomes, verify output) is placed in a code fence
 * longer than any backtick run it contains, so it cannot close the fence or add headings of its
 * own; the prompt's section headings stay stable. Big inputs are capped on UTF-8 byte counts and
 * never split a multi-byte character.
 */
import { createHash } from 'node:crypto';

export interface PromptInput {
  projectId: string;
  task: { id: string; title: string; body: string };
  /** 1-based. */
  attempt: number;
  /** In document order; `outcome` is the recorded outcome text of a done dependency (e.g. its Outputs Summary). */
  dependencies: Array<{ id: string; title: string; outcome: string | null }>;
  verifyCommand: string[];
  /** Repository file listing, any order (the builder sorts and de-duplicates it). */
  files: string[];
  /** Failing verify output of the previous attempt; used only when attempt > 1. */
  feedback: string | null;
  limits?: { maxFiles?: number; maxFeedbackBytes?: number; maxBodyBytes?: number };
}

export interface BuiltPrompt {
  text: string;
  /** Lowercase hex sha256 of the UTF-8 encoded text. */
  sha256: string;
  /** UTF-8 byte length of the text. */
  bytes: number;
}

export const DEFAULT_PROMPT_LIMITS = { maxFiles: 500, maxFeedbackBytes: 8 * 1024, maxBodyBytes: 64 * 1024 } as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * @throws RangeError for an attempt that is not a positive integer, an empty verify command,
 *   or a negative / non-integer limit.
 */
export function buildPrompt(input: PromptInput): BuiltPrompt {
  const limits = resolveLimits(input.limits);
  if (!Number.isInteger(input.attempt) || input.attempt < 1) {
    throw new RangeError(`prompt: attempt must be a positive integer, got ${input.attempt}`);
  }
  if (input.verifyCommand.length === 0) throw new RangeError('prompt: verifyCommand must not be empty');

  const { task, attempt } = input;
  const lines: string[] = [
    `# Task ${oneLine(task.id)}: ${oneLine(task.title)}`,
    '',
    `- Project: ${oneLine(input.projectId)}`,
    `- Attempt: ${attempt}`,
    '',
    ...taskSection(task.body, limits.maxBodyBytes),
    ...instructionsSection(input.verifyCommand),
    ...dependencySection(input.dependencies),
    ...filesSection(input.files, limits.maxFiles),
  ];
  if (attempt > 1 && input.feedback !== null) lines.push(...feedbackSection(input.feedback, attempt, limits.maxFeedbackBytes));
  const text = `${lines.join('\n').trimEnd()}\n`;
  return {
    text,
    sha256: createHash('sha256').update(text, 'utf8').digest('hex'),
    bytes: encoder.encode(text).length,
  };
}

/** POSIX shell quoting for display: safe words stay bare, anything else is single-quoted. */
export function shellQuote(argv: string[]): string {
  return argv.map((arg) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function taskSection(body: string, maxBytes: number): string[] {
  const normalised = body.replace(/\r\n?/g, '\n').trimEnd().replace(/^\n+/, '');
  const { text, total, kept } = headBytes(normalised, maxBytes);
  const note = kept < total ? [`_Task body truncated: first ${kept} of ${total} bytes shown._`, ''] : [];
  return ['## Task', '', fenced(text, 'markdown'), '', ...note];
}

function instructionsSection(verifyCommand: string[]): string[] {
  return [
    '## Instructions',
    '',
    '- Work only inside the repository (the current working directory); do not read or change anything outside it.',
    '- Do not commit, push, or create branches or tags: the runner commits your changes after verification.',
    '- Keep changes minimal and focused on this task; do not reformat or refactor unrelated code.',
    '- The task is accepted only if this build-only verify command passes when run from the repository root:',
    '',
    fenced(shellQuote(verifyCommand), 'sh'),
    '',
  ];
}

function dependencySection(deps: PromptInput['dependencies']): string[] {
  const lines = ['## Dependency outcomes', ''];
  if (deps.length === 0) return [...lines, 'This task has no dependencies.', ''];
  for (const dep of deps) {
    lines.push(`### ${oneLine(dep.id)}: ${oneLine(dep.title)}`, '');
    const outcome = dep.outcome === null ? '' : dep.outcome.replace(/\r\n?/g, '\n').trim();
    lines.push(outcome === '' ? '_No recorded outcome._' : fenced(outcome, 'text'), '');
  }
  return lines;
}

function filesSection(files: string[], maxFiles: number): string[] {
  const sorted = [...new Set(files)].sort(compareCodeUnits);
  const shown = sorted.slice(0, maxFiles).map(displayPath);
  const lines = ['## Repository files', '', `${sorted.length} files, sorted by path:`, ''];
  if (shown.length > 0) lines.push(fenced(shown.join('\n'), 'text'), '');
  if (sorted.length > shown.length) lines.push(`… and ${sorted.length - shown.length} more files`, '');
  return lines;
}

function feedbackSection(feedback: string, attempt: number, maxBytes: number): string[] {
  const normalised = feedback.replace(/\r\n?/g, '\n').trimEnd();
  const { text, total, kept } = tailBytes(normalised, maxBytes);
  const what = kept < total ? `the last ${kept} of ${total} bytes` : 'in full';
  return [
    '## Previous attempt failed verification',
    '',
    `This is attempt ${attempt}. Attempt ${attempt - 1} failed the verify command; its output (${what}) is below.`,
    'Fix the cause of the failure.',
    '',
    total === 0 ? '_The verify command produced no output._' : fenced(text, 'text'),
    '',
  ];
}

function resolveLimits(limits: PromptInput['limits']): Required<NonNullable<PromptInput['limits']>> {
  const resolved = { ...DEFAULT_PROMPT_LIMITS, ...limits };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`prompt: limits.${name} must be a non-negative integer`);
  }
  return resolved;
}

/** Plain UTF-16 code-unit order: identical on every machine and locale (unlike localeCompare). */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One line per path: names with control characters or edge whitespace are shown JSON-quoted. */
function displayPath(path: string): string {
  return /[\u0000-\u001f\u007f]/.test(path) || path.trim() !== path ? JSON.stringify(path) : path;
}

function oneLine(s: string): string {
  return s.split(/[\r\n]+/).map((part) => part.trim()).filter((part) => part !== '').join(' ');
}

/** A fenced block whose fence is longer than any backtick run inside `content`. */
function fenced(content: string, info: string): string {
  const longest = Math.max(0, ...(content.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${info}\n${content}\n${fence}`;
}

/** The first ≤ maxBytes UTF-8 bytes of `s`, cut back to a character boundary. */
function headBytes(s: string, maxBytes: number): { text: string; total: number; kept: number } {
  const bytes = encoder.encode(s);
  if (bytes.length <= maxBytes) return { text: s, total: bytes.length, kept: bytes.length };
  let end = maxBytes;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--; // bytes[end] continues a char that would be split
  return { text: decoder.decode(bytes.subarray(0, end)), total: bytes.length, kept: end };
}

/** The last ≤ maxBytes UTF-8 bytes of `s`, moved forward to a character boundary. */
function tailBytes(s: string, maxBytes: number): { text: string; total: number; kept: number } {
  const bytes = encoder.encode(s);
  if (bytes.length <= maxBytes) return { text: s, total: bytes.length, kept: bytes.length };
  let start = bytes.length - maxBytes;
  while (start < bytes.length && (bytes[start] & 0xc0) === 0x80) start++;
  return { text: decoder.decode(bytes.subarray(start)), total: bytes.length, kept: bytes.length - start };
}
