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

  it('detects a violation (the check itself can fail)', () => {
    expect(IO.test('node:fs')).toBe(true);
    expect(IO.test('@mikro-orm/core')).toBe(true);
    expect(IO.test('xstate')).toBe(false);
  });
});
