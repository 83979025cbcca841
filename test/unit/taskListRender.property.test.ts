/**
 * Property: any generated task list, rendered to markdown in any accepted style (heading tasks
 * with or without a box, checkbox items with any marker, indented or nested lists, fences of
 * either character indented anywhere inside the item, decoy blocks before the script), parses
 * back to every task with its id, title, dependencies, script and Files:/Changes: lines — and the
 * script agent (`extractScript` on the body) finds the same script.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTaskList } from '../../src/domain/taskList.ts';
import { extractScript } from '../../src/infra/agents/script.ts';

type Style = 'h3' | 'h4' | 'hBox' | 'hTask' | 'dash' | 'star' | 'plus' | 'ordered' | 'paren' | 'nested';
interface GenTask {
  style: Style;
  /** Spaces before a top-level list marker (0–3). */
  listIndent: number;
  /** Extra spaces before the fence, within what keeps it a fence in the item (0–3). */
  fenceIndent: number;
  fence: '```' | '~~~' | '````';
  lang: string;
  meta: string;
  code: string[];
  script: boolean;
  decoy: 'none' | 'js' | 'comment' | 'nestedFence' | 'prose';
  deps: number[];
  depsAsLine: boolean;
  title: string;
  files: string[];
  noChanges: boolean;
  blankBeforeFence: boolean;
}

const WORDS = ['Add', 'api', 'route', 'Fix', 'v2.0', 'Café', 'x/y', '{a, b}', '→', 'tests', '(TTL 6h)', 'None'];
const CODE_LINES = ['echo hi > out.txt', 'mkdir -p a/b && touch a/b/c', '  indented line', 'x=$((1 + 2))', '', 'printf "%s\\n" "$x"', 'cat <<EOF', 'EOF'];
const taskArb = fc.record({
  style: fc.constantFrom<Style>('h3', 'h4', 'hBox', 'hTask', 'dash', 'star', 'plus', 'ordered', 'paren', 'nested'),
  listIndent: fc.integer({ min: 0, max: 3 }),
  fenceIndent: fc.integer({ min: 0, max: 3 }),
  fence: fc.constantFrom<GenTask['fence']>('```', '~~~', '````'),
  lang: fc.constantFrom('sh', 'bash', 'shell', 'SH', 'Bash'),
  meta: fc.constantFrom('', ' title="run"', ' {.x}'),
  code: fc.array(fc.constantFrom(...CODE_LINES), { minLength: 1, maxLength: 4 }).map((ls) => (ls.every((l) => l.trim() === '') ? ['true'] : ls)),
  script: fc.boolean(),
  decoy: fc.constantFrom<GenTask['decoy']>('none', 'js', 'comment', 'nestedFence', 'prose'),
  deps: fc.array(fc.nat(), { maxLength: 3 }),
  depsAsLine: fc.boolean(),
  title: fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 4 }).map((w) => w.join(' ')),
  files: fc.array(fc.constantFrom('src/a.ts', 'src/**/*.css', 'docs/*.md', 'b.ts'), { maxLength: 3 }),
  noChanges: fc.boolean(),
  blankBeforeFence: fc.boolean(),
});

/** Task ids by position; dependencies only point backwards, so the list is acyclic. */
const idOf = (i: number) => `${Math.floor(i / 5) + 1}.${(i % 5) + 1}`;
const depsOf = (t: GenTask, i: number) => (i === 0 ? [] : [...new Set(t.deps.map((d) => idOf(d % i)))]);

function renderTask(t: GenTask, i: number): string[] {
  const deps = depsOf(t, i);
  const clause = deps.length && !t.depsAsLine ? ` (Dependencies: [${deps.join(', ')}])` : '';
  const text = `${idOf(i)} ${t.title}${clause}`;
  const heading = { h3: `### ${text}`, h4: `#### ${text}`, hBox: `### [ ] ${text}`, hTask: `### Task ${idOf(i)}: ${t.title}${clause}` } as Record<string, string>;
  const pad = ' '.repeat(t.listIndent);
  const marker = { dash: '- ', star: '* ', plus: '+ ', ordered: `${i + 1}. `, paren: `${i + 1}) `, nested: '- ' }[t.style as string];
  const lines: string[] = [];
  let col = 0;
  if (heading[t.style]) lines.push(heading[t.style]);
  else if (t.style === 'nested') {
    lines.push(`${pad}- Group ${i}`, `${pad}  - [ ] ${text}`);
    col = t.listIndent + 4;
  } else {
    lines.push(`${pad}${marker}[ ] ${text}`);
    col = t.listIndent + marker!.length;
  }
  const body: string[] = [];
  if (deps.length && t.depsAsLine) body.push(`Dependencies: [${deps.join(', ')}]`);
  if (t.files.length) body.push(`- Files: ${t.files.join(', ')}`);
  if (t.noChanges) body.push('**Changes:** none');
  const f = ' '.repeat(t.fenceIndent);
  if (t.decoy === 'js') body.push('', `${f}\`\`\`js`, `${f}console.log("not a script")`, `${f}\`\`\``);
  if (t.decoy === 'comment') body.push('', '<!--', '```sh', 'echo disabled', '```', '-->');
  if (t.decoy === 'nestedFence') body.push('', '`````markdown', '```sh', 'echo example', '```', '`````');
  if (t.decoy === 'prose') body.push('', 'Run the script below; it is *idempotent*.');
  if (t.script) {
    if (t.blankBeforeFence) body.push('');
    body.push(`${f}${t.fence}${t.lang}${t.meta}`, ...t.code.map((l) => (l === '' ? '' : f + l)), `${f}${t.fence}`);
  }
  // Indent the body into the list item (its content column); blank lines stay empty.
  return [...lines, ...body.map((l) => (l === '' ? '' : ' '.repeat(col) + l)), ''];
}

describe('rendered task lists parse back', () => {
  it('every task is found with its id, title, dependencies, files, changes and script', () => {
    fc.assert(
      fc.property(fc.array(taskArb, { minLength: 1, maxLength: 12 }), (tasks) => {
        // An indented list item after a blank line would continue the previous item (CommonMark
        // §5.2), so a paragraph at column 0 ends the previous list first.
        const sep = (t: GenTask, i: number) => (i > 0 && !t.style.startsWith('h') && t.listIndent > 0 ? ['Next:', ''] : []);
        const md = ['# Plan', '', ...tasks.flatMap((t, i) => [...sep(t, i), ...renderTask(t, i)])].join('\n');
        const list = parseTaskList(md);
        expect(list.tasks.map((t) => t.id)).toEqual(tasks.map((_, i) => idOf(i)));
        list.tasks.forEach((t, i) => {
          const g = tasks[i];
          expect(t.title).toBe(g.title);
          expect(t.ownDependencies).toEqual(depsOf(g, i));
          expect(t.files).toEqual([...new Set(g.files)]);
          expect(t.expectsNoChanges).toBe(g.noChanges);
          const script = g.script ? { lang: g.lang.toLowerCase(), code: `${g.code.join('\n').replace(/\n+$/, '')}\n` } : null;
          expect(t.script).toEqual(script);
          expect(extractScript(t.body)).toBe(script?.code ?? null);
          expect(t.source.kind).toBe(g.style.startsWith('h') ? 'heading' : 'checkbox');
          expect(md.split('\n')[t.line - 1]).toContain(t.heading);
        });
      }),
      { numRuns: 300 },
    );
  });
});
