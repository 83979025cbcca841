/**
 * Which commands a state accepts, read from the machine definition (the same rule as the
 * server's `snapshot.can`): a command is accepted when the state or one of its ancestors has a
 * transition for it that has a target or actions. Used between authoritative snapshots, when only a `transition` arrived.
 */
import { COMMANDS, type Command } from '../domain/status.ts';
import { projectMachine } from '../machines/project.machine.ts';

interface NodeLike {
  type: string;
  states: Record<string, NodeLike>;
  transitions: Map<string, Array<{ target?: readonly unknown[]; actions?: readonly unknown[] }>>;
}

function nodeAt(path: string): NodeLike[] | null {
  const chain: NodeLike[] = [projectMachine.root as unknown as NodeLike];
  for (const part of path.split('.')) {
    const next = chain[chain.length - 1]!.states[part];
    if (!next) return null;
    chain.push(next);
  }
  return chain;
}

const cache = new Map<string, Command[]>();

/** Commands accepted in the leaf `path` (e.g. `active.executing`); SKIP needs a current task. */
export function commandsForPath(path: string, hasTask: boolean): Command[] {
  let base = cache.get(path);
  if (!base) {
    const chain = nodeAt(path);
    const leaf = chain?.[chain.length - 1];
    // Like `snapshot.can`: a transition counts only if it goes somewhere or does something.
    const takes = (n: NodeLike, c: Command) => !!n.transitions.get(c)?.some((t) => !!t.target?.length || !!t.actions?.length);
    base = !chain || !leaf || leaf.type === 'final' ? [] : COMMANDS.filter((c) => chain.some((n) => takes(n, c)));
    cache.set(path, base);
  }
  return hasTask ? base : base.filter((c) => c !== 'SKIP');
}
