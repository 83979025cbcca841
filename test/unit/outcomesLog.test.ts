import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  doneTaskIdsFromOutcomes,
  normalizeOutcomeValue,
  parseOutcomes,
  recordOutcome,
  renderOutcomeBlock,
  type OutcomeFields,
  type OutcomeTask,
} from '../../src/domain/outcomesLog.ts';
import { parseTaskList, type Task } from '../../src/domain/taskList.ts';

const seed = readFileSync(join(import.meta.dirname, '../fixtures/seed_outcomes_log.md'), 'utf8');
const seedIds = [...parseOutcomes(seed).keys()];

const fields: OutcomeFields = {
  outputsSummary: 'Mounted the events router.',
  validationEvidence: 'npm run build: exit 0',
  verificationNotes: 'none',
  artifacts: 'commit abc1234',
  executor: 'devteam-runner (aider)',
  timestamp: '2025-03-01T12:00:00.000Z',
};
const phase2 = { heading: 'Phase 2: Events → Worker Wire-up (Dependencies: [Phase 1])', number: '2' };
const task21: OutcomeTask = {
  id: '2.1',
  title: 'Mount events router; validate request schema; persist Event',
  heading: '2.1 Mount events router; validate request schema; persist Event (Dependencies: [1.2])',
  phase: phase2,
};
const task = (id: string, phase: OutcomeTask['phase']): OutcomeTask => ({ id, title: `T${id}`, heading: `${id} T${id}`, phase });

/** Indices of lines that differ, for two texts with the same line count. */
function changedLines(a: string, b: string): number[] {
  const [x, y] = [a.split('\n'), b.split('\n')];
  expect(y.length).toBe(x.length);
  return x.flatMap((line, i) => (line === y[i] ? [] : [i]));
}

describe('parseOutcomes', () => {
  it('reads the seed: every task present, none filled, header Template ignored', () => {
    const parsed = parseOutcomes(seed);
    expect(parsed.size).toBe(29);
    expect(parsed.get('1.1')).toMatchObject({ taskId: '1.1', line: 23, filled: false });
    expect(parsed.get('2.1')?.fields).toEqual({
      outputsSummary: '', validationEvidence: '', verificationNotes: '', artifacts: '', executor: '', timestamp: '',
    });
    expect(doneTaskIdsFromOutcomes(seed).size).toBe(0);
  });

  it('a section with several blocks is filled when any block has a Timestamp; fields come from it', () => {
    const text = [
      '### 4.1 Clone (Dependencies: [3.3])',
      '- Outputs Summary: first try',
      '- Timestamp:',
      '',
      '- Outputs Summary: cloned',
      '  and fetched',
      '- Executor: me',
      '- Timestamp: 2025-01-01T00:00:00Z',
      '',
      'Some note.',
      '- Outputs Summary: later, unfinished',
      '',
      '### 4.2 Other',
      '- Timestamp:',
    ].join('\n');
    const parsed = parseOutcomes(text);
    expect(parsed.get('4.1')).toEqual({
      taskId: '4.1',
      line: 1,
      filled: true,
      fields: { outputsSummary: 'cloned\nand fetched', executor: 'me', timestamp: '2025-01-01T00:00:00Z' },
    });
    expect(parsed.get('4.2')?.filled).toBe(false);
    expect([...doneTaskIdsFromOutcomes(text)]).toEqual(['4.1']);
  });

  it('accepts the task list id grammar in headings (prefixed ids, optional "Task" word)', () => {
    const text = '### Task T-3: Deploy\n- Timestamp: 2025-01-01T00:00:00Z\n\n### 4.1. Next\n- Timestamp:\n';
    expect([...parseOutcomes(text).keys()]).toEqual(['T-3', '4.1']);
    const out = recordOutcome(text, task('AB-1.2', null), fields);
    expect(parseOutcomes(out).get('AB-1.2')).toMatchObject({ filled: true, fields });
  });

  it('ignores headings and bullets inside column-0 code fences', () => {
    const text = ['### 1.1 A', '```', '### 9.9 not a task', '- Timestamp: 2025-01-01T00:00:00Z', '```', '- Timestamp:'].join('\n');
    const parsed = parseOutcomes(text);
    expect([...parsed.keys()]).toEqual(['1.1']);
    expect(parsed.get('1.1')?.filled).toBe(false);
  });
});

describe('recordOutcome on the seed', () => {
  it("fills 2.1's template block in place, touching only those six lines", () => {
    const out = recordOutcome(seed, task21, fields);
    const parsed = parseOutcomes(out);
    expect(parsed.get('2.1')).toEqual({ taskId: '2.1', line: 51, filled: true, fields });
    for (const id of seedIds.filter((i) => i !== '2.1')) expect(parsed.get(id)?.filled, id).toBe(false);
    expect([...doneTaskIdsFromOutcomes(out)]).toEqual(['2.1']);
    expect(changedLines(seed, out)).toEqual([51, 52, 53, 54, 55, 56]); // 0-based: the bullets under line 51
    expect(out.split('\n').slice(51, 57)).toEqual(renderOutcomeBlock(fields).split('\n'));
  });

  it('is idempotent: recording again (even with other values) returns the identical text', () => {
    const once = recordOutcome(seed, task21, fields);
    expect(recordOutcome(once, task21, fields)).toBe(once);
    expect(recordOutcome(once, task21, { ...fields, outputsSummary: 'different' })).toBe(once);
  });

  it('keeps the missing final newline when filling the last task', () => {
    expect(seed.endsWith('- Timestamp:')).toBe(true);
    const out = recordOutcome(seed, task('9.2', null), fields);
    expect(out.endsWith(`- Timestamp: ${fields.timestamp}`)).toBe(true);
    expect(changedLines(seed, out)).toHaveLength(6);
  });

  it('appends a block when the section has no empty template (hand-written partial block kept)', () => {
    const partial = seed.replace(
      '### 2.2 Dispatch Celery task with correlationId (Dependencies: [2.1])\n- Outputs Summary:\n',
      '### 2.2 Dispatch Celery task with correlationId (Dependencies: [2.1])\n- Outputs Summary: WIP by hand\n',
    );
    const out = recordOutcome(partial, task('2.2', phase2), fields);
    const block = renderOutcomeBlock(fields);
    expect(out).toBe(partial.replace(/(WIP by hand\n(?:- .*\n){5})/, `$1\n${block}\n`));
    expect(parseOutcomes(out).get('2.2')).toMatchObject({ filled: true, fields });
  });

  it('creates a missing task heading inside its phase, in id order', () => {
    const section22 = /### 2\.2 [^\n]*\n(?:- [^\n]*\n){6}\n/;
    const without = seed.replace(section22, '');
    const out = recordOutcome(without, task('2.2', phase2), fields);
    expect(out).toBe(without.replace('### 2.3 ', `### 2.2 T2.2\n${renderOutcomeBlock(fields)}\n\n### 2.3 `));

    const appended = recordOutcome(seed, task('2.10', phase2), fields);
    const lines = appended.split('\n');
    const at = lines.indexOf('### 2.10 T2.10');
    expect(lines.slice(at - 2, at)).toEqual(['- Timestamp:', '']); // right after 2.3's block …
    expect(lines.slice(at + 7, at + 11)).toEqual(['', '---', '', '## Phase 3: Workflow Engine Integration (Dependencies: [Phase 2])']);
    expect(appended.replace(`\n### 2.10 T2.10\n${renderOutcomeBlock(fields)}\n`, '')).toBe(seed); // … and nothing else changed
  });

  it('creates a missing phase heading at the end of the file, after a rule', () => {
    const out = recordOutcome(seed, task('10.1', { heading: 'Phase 10: Extras', number: '10' }), fields);
    expect(out).toBe(`${seed}\n\n---\n\n## Phase 10: Extras\n\n### 10.1 T10.1\n${renderOutcomeBlock(fields)}`);
    expect(doneTaskIdsFromOutcomes(out)).toEqual(new Set(['10.1']));
  });

  it('preserves CRLF line endings and everything else byte for byte', () => {
    const crlf = seed.replace(/\n/g, '\r\n');
    const filled = recordOutcome(crlf, task21, { ...fields, verificationNotes: 'two\nlines' });
    expect(filled).toBe(recordOutcome(seed, task21, { ...fields, verificationNotes: 'two\nlines' }).replace(/\n/g, '\r\n'));
    const created = recordOutcome(filled, task('10.1', { heading: 'Phase 10: X', number: '10' }), fields);
    expect(created.startsWith(filled)).toBe(true);
    expect(created.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    expect(parseOutcomes(created).get('2.1')?.fields.verificationNotes).toBe('two\nlines');
    expect(doneTaskIdsFromOutcomes(created)).toEqual(new Set(['2.1', '10.1']));
  });

  it('rejects an id that is not a task id, a title or phase heading of several lines, and a non-UTC timestamp', () => {
    // The entry heading is built from id and title; the task line as written (`heading`) is not used.
    expect(() => recordOutcome(seed, { ...task21, id: 'Mount' }, fields)).toThrow(/not a task id/);
    expect(() => recordOutcome(seed, { ...task21, id: '2.1 x' }, fields)).toThrow(/not a task id/);
    expect(() => recordOutcome(seed, { ...task('2.9', phase2), title: 'A\n### 2.2 B' }, fields)).toThrow(/one line/);
    expect(() => recordOutcome(seed, task('2.9', { ...phase2, heading: 'Phase 2\n## Phase 3' }), fields)).toThrow(/one line/);
    expect(recordOutcome(seed, { ...task21, heading: 'anything at all' }, fields)).toBe(recordOutcome(seed, task21, fields));
    expect(() => recordOutcome(seed, task21, { ...fields, timestamp: '' })).toThrow(/ISO-8601/);
    expect(() => recordOutcome(seed, task21, { ...fields, timestamp: '2025-03-01 12:00' })).toThrow(/ISO-8601/);
  });
});

/** What the runner passes for a parsed task (src/actors/projectActors.ts). */
const outcomeTask = (t: Task): OutcomeTask => ({ id: t.id, title: t.title, heading: t.heading, phase: t.phase ? { heading: t.phase.heading, number: t.phase.number } : null });

describe('recordOutcome with tasks from the parsed task list', () => {
  it.each([
    ['### [ ] 1.1 Create hello file (Dependencies: None)', '### 1.1 Create hello file'],
    ['### [x] 1.1 Create hello file', '### 1.1 Create hello file'],
    ['### Task 1.1: Create hello file (Dependencies: None)', '### 1.1 Create hello file'],
    ['- [ ] 1.1 Create hello file (Dependencies: None)', '### 1.1 Create hello file'],
    ['* [X] Task 1.1. Create hello file', '### 1.1 Create hello file'],
    ['1. [ ] BE-1.1 Create hello file', '### BE-1.1 Create hello file'],
    ['#### 1.1', '### 1.1'],
  ])('%j records an entry headed %j that reads back as done', (line, heading) => {
    const t = parseTaskList(`## Phase 1: Start\n\n${line}\n`).tasks[0];
    const log = recordOutcome(null, outcomeTask(t), fields);
    expect(log.split('\n')).toContain(heading);
    expect(log).toContain('\n## Phase 1: Start\n');
    expect(parseOutcomes(log).get(t.id)).toMatchObject({ filled: true, fields });
    expect(doneTaskIdsFromOutcomes(log)).toEqual(new Set([t.id]));
    expect(recordOutcome(log, outcomeTask(t), fields)).toBe(log);
  });

  it('fills the seed section of a task whose task list heading has a box', () => {
    const t = parseTaskList('## Phase 2: Events → Worker Wire-up (Dependencies: None)\n### [ ] 2.1 Mount events router; validate request schema; persist Event\n').tasks[0];
    const out = recordOutcome(seed, outcomeTask(t), fields);
    expect(out).toBe(recordOutcome(seed, task21, fields));
    expect([...doneTaskIdsFromOutcomes(out)]).toEqual(['2.1']);
  });

  it('any id and one-line title the task list accepts round-trips through a new log', () => {
    const id = fc.stringMatching(/^([A-Z][A-Za-z0-9]{0,3}-)?\d{1,3}(\.\d{1,3}){0,3}$/);
    const title = fc.string({ maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, ' '));
    fc.assert(
      fc.property(id, title, (i, ti) => {
        const log = recordOutcome(null, { id: i, title: ti, phase: null }, fields);
        expect(parseOutcomes(log).get(i)).toMatchObject({ taskId: i, filled: true });
        expect(doneTaskIdsFromOutcomes(log)).toEqual(new Set([i]));
      }),
      { numRuns: 300 },
    );
  });
});

describe('recordOutcome without a log', () => {
  it('creates the log with the seed header, then one filled entry per task in the right phase', () => {
    const p = (n: string) => ({ heading: `Phase ${n}: P${n} (Dependencies: None)`, number: n });
    const tasks = [task('1.2', p('1')), task('2.1', p('2')), task('1.1', p('1')), task('3.1', p('3')), task('2.2', p('2'))];
    let log: string | null = null;
    for (const t of tasks) log = recordOutcome(log, t, { ...fields, executor: `exec ${t.id}` });
    const text = log as string;

    const header = seed.slice(seed.indexOf('Instructions:'), seed.indexOf('---') + 3);
    expect(text.startsWith(`# Task Outcomes Log\n\n${header}\n\n## Phase 1: P1`)).toBe(true);
    const parsed = parseOutcomes(text);
    expect([...parsed.keys()]).toEqual(['1.1', '1.2', '2.1', '2.2', '3.1']);
    for (const t of tasks) {
      expect(parsed.get(t.id)).toMatchObject({ filled: true, fields: { ...fields, executor: `exec ${t.id}` } });
      expect(text.split(`\n### ${t.id} `)).toHaveLength(2);
    }
    expect(text.match(/^- Timestamp: \S/gm)).toHaveLength(5);
    const lines = text.split('\n');
    const phaseOf = (id: string) => {
      const at = lines.findIndex((l) => l.startsWith(`### ${id} `));
      return lines.slice(0, at).findLast((l) => l.startsWith('## '));
    };
    for (const t of tasks) expect(phaseOf(t.id)).toBe(`## ${t.phase?.heading}`);
    for (const t of tasks) expect(recordOutcome(text, t, fields)).toBe(text);
  });
});

/** Restates the documented round-trip normalisation independently of the implementation. */
function expected(value: string): string {
  const lines = value.replace(/\r\n|\r/g, '\n').split('\n').map((l) => l.replace(/\s+$/, ''));
  return lines.join('\n').replace(/^\s+|\s+$/g, '');
}

const nasty = fc
  .array(
    fc.oneof(
      fc.constantFrom('\n', '\r\n', '\r', '- ', '* ', '### 2.2 X', '## Phase 9: Y', '# T', '- Timestamp: 2020-01-01T00:00:00Z',
        '- Outputs Summary:', '---', '```', '~~~', '  ', '\t', ' ', '\u2028', '\u00a0', '#'),
      fc.string({ unit: 'binary', maxLength: 8 }),
    ),
    { maxLength: 24 },
  )
  .map((parts) => parts.join(''));
const timestamp = fc
  .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const anyFields = fc.record({
  outputsSummary: nasty, validationEvidence: nasty, verificationNotes: nasty, artifacts: nasty, executor: nasty, timestamp,
});

describe('field values cannot break the structure', () => {
  it('normalisation examples', () => {
    expect(normalizeOutcomeValue('  a  \r\n\r\n  b \r c\n\n')).toBe('a\n\n  b\n c');
    expect(normalizeOutcomeValue(' \n\t ')).toBe('');
  });

  it('rendered blocks: six column-0 bullets in order, every other line indented or blank', () => {
    fc.assert(
      fc.property(anyFields, (f) => {
        const lines = renderOutcomeBlock(f).split('\n');
        const bullets = lines.filter((l) => !l.startsWith('  ') && l !== '');
        expect(bullets.map((l) => l.slice(0, l.indexOf(':') + 1))).toEqual([
          '- Outputs Summary:', '- Validation Evidence:', '- Verification Notes:', '- Artifacts/Links:', '- Executor:', '- Timestamp:',
        ]);
        expect(lines.every((l) => !l.includes('\r'))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('random values round-trip through parseOutcomes and leave the rest of the log intact', () => {
    const before = seed.slice(0, seed.indexOf('- Outputs Summary:', seed.indexOf('### 2.1 ')));
    const after = seed.slice(seed.indexOf('\n\n### 2.2 '));
    fc.assert(
      fc.property(anyFields, fc.boolean(), (f, crlf) => {
        const input = crlf ? seed.replace(/\n/g, '\r\n') : seed;
        const out = recordOutcome(input, task21, f);
        const parsed = parseOutcomes(out);
        expect([...parsed.keys()]).toEqual(seedIds);
        const want = Object.fromEntries(Object.entries(f).map(([k, v]) => [k, expected(v)]));
        expect(parsed.get('2.1')).toEqual({ taskId: '2.1', line: 51, filled: true, fields: want });
        expect([...doneTaskIdsFromOutcomes(out)]).toEqual(['2.1']);
        const lf = crlf ? out.replace(/\r\n/g, '\n') : out;
        expect(lf.startsWith(before)).toBe(true);
        expect(lf.endsWith(after)).toBe(true);
        expect(recordOutcome(out, task21, f)).toBe(out);
      }),
      { numRuns: 300 },
    );
  });
});
