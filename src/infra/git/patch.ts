/**
 * A readable unified-style diff for prompts and review — approximate by design: an LCS
 * line diff when the files are small enough, a whole-file replacement otherwise, and the
 * total capped (the agent's change can be huge; the summary must stay bounded).
 */

export const PATCH_CAP_BYTES = 256 * 1024;
/** Above this lines(a) × lines(b) product the diff falls back to whole-file replacement. */
const LCS_CELL_LIMIT = 4_000_000;
const CONTEXT = 3;

type Op = [' ' | '-' | '+', string];

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function lineOps(a: string[], b: string[]): Op[] {
  if (a.length * b.length > LCS_CELL_LIMIT) {
    return [...a.map((l): Op => ['-', l]), ...b.map((l): Op => ['+', l])];
  }
  // Standard LCS table over suffixes, then a forward walk.
  const n = a.length;
  const m = b.length;
  const t: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      t[i][j] = a[i] === b[j] ? t[i + 1][j + 1] + 1 : Math.max(t[i + 1][j], t[i][j + 1]);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      ops.push([' ', a[i]]);
      i++;
      j++;
    } else if (t[i + 1][j] >= t[i][j + 1]) ops.push(['-', a[i++]]);
    else ops.push(['+', b[j++]]);
  }
  while (i < n) ops.push(['-', a[i++]]);
  while (j < m) ops.push(['+', b[j++]]);
  return ops;
}

/** Unified diff text for one file. `null` content means absent (added / deleted file). */
export function fileDiff(path: string, before: string | null, after: string | null): string {
  const head = `diff --git a/${path} b/${path}\n--- ${before === null ? '/dev/null' : `a/${path}`}\n+++ ${
    after === null ? '/dev/null' : `b/${path}`
  }\n`;
  const ops = lineOps(splitLines(before ?? ''), splitLines(after ?? ''));
  const changed = ops.map((o, k) => (o[0] !== ' ' ? k : -1)).filter((k) => k >= 0);
  if (changed.length === 0) return head;
  let out = head;
  let k = 0;
  while (k < changed.length) {
    // Group changes whose context windows touch into one hunk.
    const start = Math.max(0, changed[k] - CONTEXT);
    let end = changed[k];
    while (k + 1 < changed.length && changed[k + 1] - end <= 2 * CONTEXT) end = changed[++k];
    k++;
    const stop = Math.min(ops.length, end + CONTEXT + 1);
    let aStart = 1;
    let bStart = 1;
    for (let x = 0; x < start; x++) {
      if (ops[x][0] !== '+') aStart++;
      if (ops[x][0] !== '-') bStart++;
    }
    const body = ops.slice(start, stop);
    const aLen = body.filter((o) => o[0] !== '+').length;
    const bLen = body.filter((o) => o[0] !== '-').length;
    out += `@@ -${aLen ? aStart : aStart - 1},${aLen} +${bLen ? bStart : bStart - 1},${bLen} @@\n`;
    out += body.map(([s, l]) => `${s}${l}\n`).join('');
  }
  return out;
}

/** Join per-file diffs, truncating at the cap with a marker line. */
export function capPatch(parts: string[], cap = PATCH_CAP_BYTES): string {
  let out = '';
  for (const p of parts) {
    if (Buffer.byteLength(out) + Buffer.byteLength(p) > cap) {
      const room = cap - Buffer.byteLength(out);
      if (room > 0) out += Buffer.from(p).subarray(0, room).toString('utf8').replace(/\uFFFD$/, '');
      return `${out}\n[patch truncated at ${cap} bytes]\n`;
    }
    out += p;
  }
  return out;
}
