/**
 * Human-readable rendering of statuses for the CLI: the project table, a one-project detail
 * block and the progress bar. Pure string functions, so output is the same on every terminal
 * and easy to assert on.
 */
import type { LaneStatus, ProjectStatus, TaskCounts } from '../domain/status.ts';

/** `[██████░░░░░░░░░░░░░░] 6/24 done` plus skipped/left when non-zero. */
export function progressBar(c: TaskCounts, width = 24): string {
  const total = Math.max(0, c.total);
  const finished = c.done + c.skipped;
  const filled = total === 0 ? 0 : Math.round((Math.min(finished, total) / total) * width);
  const extra = [c.skipped ? `${c.skipped} skipped` : '', c.remaining ? `${c.remaining} left` : ''].filter(Boolean).join(', ');
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${c.done}/${total} done${extra ? ` (${extra})` : ''}`;
}

/**
 * `executing`, `initializing (initializing.syncingRepo)`, `paused (executing)`: the state, with the
 * step a paused project resumes (its oldest working lane's `resumes`) or a project-level sub-step.
 * The team's region paths (`running.dispatch.…`) add nothing a user reads, so they are left out.
 */
export function stateLabel(s: ProjectStatus): string {
  const resumes = s.state === 'paused' ? s.lanes.find((l) => l.state !== 'halted')?.resumes : null;
  if (resumes) return `paused (${resumes})`;
  if (!s.substate || s.substate === s.state || s.substate.startsWith('running.')) return s.state;
  return `${s.state} (${s.substate})`;
}

/** The task in flight, or with several lanes their ids (`3 lanes: 1.1 1.2 1.3`). */
export function taskLabel(s: ProjectStatus): string {
  if (s.lanes.length > 1) return `${s.lanes.length} lanes: ${s.lanes.map((l) => (l.state === 'halted' ? `${l.taskId}(halted)` : l.taskId)).join(' ')}`;
  if (!s.currentTask) return '-';
  const t = s.currentTask;
  return `${t.id} ${t.title}${t.attempt > 1 ? ` (attempt ${t.attempt})` : ''}`;
}

const clip = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

/** `1.2 executing (attempt 2) since 12:01:03` plus the error of a halted lane. */
export function laneLine(l: LaneStatus): string {
  const since = l.since ? ` since ${l.since.slice(11, 19)}` : '';
  return `${l.taskId} ${l.state}${l.attempt > 1 ? ` (attempt ${l.attempt})` : ''}${since}${l.state === 'halted' && l.error ? ` — ${oneLine(l.error)}` : ''}`;
}

export function projectTable(items: ProjectStatus[]): string {
  if (items.length === 0) return 'no projects\n';
  const rows = [
    ['PROJECT', 'STATE', 'TASK', 'PROGRESS', 'SEQ', 'UPDATED'],
    ...items.map((s) => [
      s.projectId,
      s.state,
      clip(taskLabel(s), 40),
      `${s.taskCounts.done}/${s.taskCounts.total}${s.taskCounts.skipped ? ` +${s.taskCounts.skipped} skipped` : ''}`,
      String(s.seq),
      s.updatedAt,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

export function projectDetail(s: ProjectStatus): string {
  const lines = [
    `project   ${s.projectId}`,
    `state     ${stateLabel(s)}`,
    `task      ${taskLabel(s)}`,
    `progress  ${progressBar(s.taskCounts)}`,
  ];
  for (const l of s.lanes) lines.push(`lane      ${laneLine(l)}`);
  if (s.mergeQueue.length) lines.push(`merging   ${s.mergeQueue.join(' → ')}`);
  if (s.completedTaskIds.length) lines.push(`done      ${s.completedTaskIds.join(' ')}`);
  if (s.skippedTaskIds.length) lines.push(`skipped   ${s.skippedTaskIds.join(' ')}`);
  if (s.blockedTaskIds.length) lines.push(`blocked   ${s.blockedTaskIds.join(' ')}`);
  if (s.lastError) lines.push(`error     ${s.lastError.split('\n')[0]}`);
  if (s.templatePath) lines.push(`template  ${s.templatePath}`);
  lines.push(`accepts   ${s.acceptedCommands.join(', ') || '-'}`);
  lines.push(`seq       ${s.seq} at ${s.updatedAt}`);
  return lines.join('\n') + '\n';
}

/** One line for an error, whatever it contains. */
export function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}
