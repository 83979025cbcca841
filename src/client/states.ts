/**
 * Reading transition envelopes: `to`/`from` are the machine's dotted leaf paths
 * (`active.executing`, `active.initializing.syncingRepo`, `paused`, `stopped`); the status
 * projection names the top-level state. Mirrors src/machines/status.ts `stateOf`, which the
 * client cannot import (it only depends on src/domain).
 */
import { PROJECT_STATES, type ProjectState } from '../domain/status.ts';

/** The status-projection state a transition's leaf path belongs to, or null if unknown. */
export function stateOfPath(path: string | null | undefined): ProjectState | null {
  if (!path) return null;
  const parts = path.split('.');
  const name = parts[0] === 'active' ? parts[1] : parts[0];
  return (PROJECT_STATES as readonly string[]).includes(name ?? '') ? (name as ProjectState) : null;
}

/** States in which nothing happens until someone acts (or new work arrives). */
export const RESTING_STATES: ReadonlySet<ProjectState> = new Set(['idle', 'halted', 'stopped', 'paused', 'awaitingTaskList']);
