/**
 * Node orders for one level of the layout. elkjs (cycle breaking by model order) reverses the
 * edges that point back in the order it is given, so the order decides how a loop is drawn:
 * in definition order a loop becomes one long line with a single edge running all the way back;
 * in "ring" order its first half runs down one side and its second half back up the other,
 * which halves the loop's length and reads as a cycle.
 */

/** The longest simple cycle through the nodes (edges between them only), or null. */
export function longestCycle(nodes: string[], edges: Array<{ source: string; target: string }>): string[] | null {
  const ids = new Set(nodes);
  const out = new Map<string, string[]>(nodes.map((n) => [n, []]));
  for (const e of edges) if (ids.has(e.source) && ids.has(e.target) && e.source !== e.target) out.get(e.source)!.push(e.target);
  let best: string[] | null = null;
  let budget = 50_000; // small levels only; a huge one keeps what it found so far
  const walk = (start: string, path: string[], seen: Set<string>) => {
    if (--budget < 0) return;
    for (const next of out.get(path[path.length - 1]!)!) {
      if (next === start && path.length > (best?.length ?? 2)) best = [...path];
      // Each cycle is found once: from its first node in the given order.
      if (seen.has(next) || nodes.indexOf(next) < nodes.indexOf(start)) continue;
      seen.add(next);
      path.push(next);
      walk(start, path, seen);
      path.pop();
      seen.delete(next);
    }
  };
  for (const start of nodes) walk(start, [start], new Set([start]));
  return best;
}

/**
 * `nodes` with the longest cycle (≥ 4 nodes) rearranged as a ring: its entry, then its second
 * half backwards, then its first half; the other nodes keep their places. Null without one.
 */
export function ringOrder(nodes: string[], edges: Array<{ source: string; target: string }>): string[] | null {
  const cycle = longestCycle(nodes, edges);
  if (!cycle || cycle.length < 4) return null;
  const half = Math.ceil(cycle.length / 2);
  const ring = [cycle[0]!, ...cycle.slice(half + 1).reverse(), ...cycle.slice(1, half + 1)];
  const inRing = new Set(ring);
  const out: string[] = [];
  for (const n of nodes) {
    if (!inRing.has(n)) out.push(n);
    else if (n === cycle[0]) out.push(...ring);
  }
  return out;
}
