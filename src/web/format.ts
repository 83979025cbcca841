/** Small display helpers shared by the views. */
import type { ProjectStatus } from '../domain/status.ts';

/** `2026-11-24T05:07:00.123Z` → `05:07:00.123`. */
export const clock = (ts: string) => (ts.length >= 23 ? ts.slice(11, 23) : ts);

export function progressOf(s: ProjectStatus): { pct: number; text: string } {
  const c = s.taskCounts;
  const finished = c.done + c.skipped;
  const pct = c.total > 0 ? Math.round((finished / c.total) * 100) : 0;
  return { pct, text: c.total > 0 ? `${c.done}${c.skipped ? `+${c.skipped}` : ''}/${c.total}` : '–' };
}

/**
 * The label shown for a state: `initializing.syncingRepo`; while running (the substate lists the
 * parallel regions' leaves) the team's summary state, `executing`; `paused (2 lanes)`.
 */
export function stateLabel(s: ProjectStatus): string {
  if (s.state === 'paused') {
    if (s.lanes.length) return `paused (${s.lanes.length} lane${s.lanes.length > 1 ? 's' : ''})`;
    return s.substate ? `paused (${s.substate})` : 'paused';
  }
  return s.substate && s.substate !== s.state && !s.substate.includes(',') ? s.substate : s.state;
}

/**
 * A transition's `from → to`; for a parallel state (leaves joined by `,`) only the leaves that
 * changed, or all of them when none did (`active.running.train.waiting → active.running.train.integrating`).
 */
export function fromTo(from: string | null, to: string): string {
  const a = from?.split(',') ?? [];
  const b = to.split(',');
  const left = a.filter((l) => !b.includes(l));
  const entered = b.filter((l) => !a.includes(l));
  return `${from === null ? '∅' : (left.length ? left : a).join(', ')} → ${(entered.length ? entered : b).join(', ')}`;
}
