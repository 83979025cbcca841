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

/** The label shown for a state: `executing`, `initializing.syncingRepo`, `paused (executing)`. */
export function stateLabel(s: ProjectStatus): string {
  if (s.state === 'paused') return s.substate ? `paused (${s.substate})` : 'paused';
  return s.substate && s.substate !== s.state ? s.substate : s.state;
}
