/**
 * The one rule between layers: src/machines is pure (xstate, types and src/domain only),
 * src/domain does no I/O, and imports point server → actors → machines/infra → domain.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}
function imports(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  return [...src.matchAll(/(?:^|\n)\s*(?:import|export)[^'";]*?from\s+['"]([^'"]+)['"]/g), ...src.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
}
const IO = /^(node:|fs$|path$|child_process$|net$|http$|os$|crypto$|dockerode|isomorphic-git|@mikro-orm\/|redis$|pino|uWebSockets\.js|@electric-sql\/|pg$)/;

describe('layering', () => {
  it('src/machines imports no I/O module and nothing outside machines/domain', () => {
    const bad: string[] = [];
    for (const f of files(join(root, 'src/machines'))) {
      for (const spec of imports(f)) {
        const rel = relative(root, f);
        if (IO.test(spec)) bad.push(`${rel} imports ${spec}`);
        else if (spec.startsWith('.') && !/^\.\.?\/(?:\.\.\/domain\/|[\w.-]+$)/.test(spec) && !spec.startsWith('../domain/')) bad.push(`${rel} imports ${spec}`);
        else if (!spec.startsWith('.') && spec !== 'xstate' && !spec.startsWith('xstate/')) bad.push(`${rel} imports ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('src/domain imports no I/O module (node:crypto for hashing excepted) and no upper layer', () => {
    const bad: string[] = [];
    for (const f of files(join(root, 'src/domain'))) {
      for (const spec of imports(f)) {
        if (spec === 'node:crypto') continue;
        if (IO.test(spec) || /\.\.\/(machines|actors|infra|server|client|cli|web)\//.test(spec)) bad.push(`${relative(root, f)} imports ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('infra never imports server or actors; actors never import server', () => {
    const bad: string[] = [];
    for (const f of files(join(root, 'src/infra'))) for (const s of imports(f)) if (/\/(server|actors)\//.test(s)) bad.push(`${relative(root, f)} imports ${s}`);
    for (const f of files(join(root, 'src/actors'))) for (const s of imports(f)) if (/\/server\//.test(s)) bad.push(`${relative(root, f)} imports ${s}`);
    expect(bad).toEqual([]);
  });

  /**
   * Every folder of src/ and what it may import (relative imports between folders). The graph is a
   * DAG: nothing below imports the server, and the client (browser-safe) sees only the domain.
   */
  const ALLOWED: Record<string, string[]> = {
    domain: [],
    machines: ['domain'],
    infra: ['domain'],
    actors: ['domain', 'machines', 'infra'],
    server: ['actors', 'domain', 'infra', 'machines'],
    client: ['domain'],
    cli: ['client', 'domain'],
    web: ['client', 'domain', 'machines'],
    demo: ['actors', 'cli', 'client', 'domain', 'infra', 'server'],
  };
  const folderOf = (p: string): string => {
    const r = relative(join(root, 'src'), p).split('/');
    return r.length > 1 ? r[0]! : '(top)';
  };
  /** The binaries: composition roots that may start anything (`devteam serve` → main.ts, `devteam demo`). */
  const ENTRY_POINTS = new Set(['src/main.ts', 'src/cli/main.ts']);
  function folderEdges(): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const f of files(join(root, 'src'))) {
      if (ENTRY_POINTS.has(relative(root, f))) continue;
      for (const spec of imports(f)) {
        if (!spec.startsWith('.')) continue;
        const target = join(f, '..', spec);
        if (!target.startsWith(join(root, 'src') + '/')) continue; // migrations/, package.json
        const a = folderOf(f);
        const b = folderOf(target);
        if (a !== b) out.set(a, (out.get(a) ?? new Set()).add(b));
      }
    }
    return out;
  }

  it('every folder of src/ imports only the folders below it (the entry points excepted)', () => {
    const folders = readdirSync(join(root, 'src')).filter((n) => statSync(join(root, 'src', n)).isDirectory());
    expect(folders.filter((f) => !(f in ALLOWED)), 'a new folder needs its row in ALLOWED').toEqual([]);
    const bad: string[] = [];
    for (const [from, tos] of folderEdges()) {
      if (from === '(top)') continue;
      for (const to of tos) if (!ALLOWED[from]!.includes(to)) bad.push(`${from} imports ${to}`);
    }
    expect(bad).toEqual([]);
  });

  it('the folder graph has no cycle', () => {
    const edges = folderEdges();
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (n: string, path: string[]) => {
      if (state.get(n) === 'done') return;
      if (state.get(n) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(n)), n].join(' → '));
        return;
      }
      state.set(n, 'visiting');
      for (const m of edges.get(n) ?? []) visit(m, [...path, n]);
      state.set(n, 'done');
    };
    for (const n of edges.keys()) visit(n, []);
    expect(cycles).toEqual([]);
    // The allowed table itself is acyclic, so the check above is not vacuous.
    const allowed = new Map(Object.entries(ALLOWED).map(([k, v]) => [k, new Set(v)]));
    expect(allowed.get('domain')!.size).toBe(0);
  });

  it('detects a violation (the check itself can fail)', () => {
    expect(IO.test('node:fs')).toBe(true);
    expect(IO.test('@mikro-orm/core')).toBe(true);
    expect(IO.test('xstate')).toBe(false);
  });
});
