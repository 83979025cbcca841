/**
 * Per-attempt artifacts (prompt, agent log, diff, verify log) under
 * DEVTEAM_DATA_DIR/artifacts/<projectId>/<taskId>/<attempt>/, each size-capped (the tail is kept
 * for logs) and with secrets redacted before anything touches the disk.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const ARTIFACT_CAP_BYTES = 256 * 1024;

export interface ArtifactStore {
  dir(taskId: string, attempt: number): string;
  write(taskId: string, attempt: number, name: string, text: string, keep?: 'head' | 'tail'): Promise<string>;
}

/**
 * Replace every secret value (tokens, API keys) with [redacted]. Also drops NUL characters:
 * process output can carry them, and Postgres text/jsonb cannot hold them.
 */
export function createRedactor(secrets: Array<string | undefined>): (text: string) => string {
  const values = [...new Set(secrets.filter((s): s is string => !!s && s.length >= 4))].sort((a, b) => b.length - a.length);
  const noNul = (t: string) => (t.includes('\u0000') ? t.replaceAll('\u0000', '') : t);
  if (!values.length) return noNul;
  return (text) => {
    let out = noNul(text);
    for (const v of values) if (out.includes(v)) out = out.split(v).join('[redacted]');
    return out;
  };
}

export function capText(text: string, cap: number, keep: 'head' | 'tail'): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= cap) return text;
  const note = `\n[… ${buf.length - cap} bytes cut …]\n`;
  const slice = keep === 'tail' ? buf.subarray(buf.length - cap) : buf.subarray(0, cap);
  // Drop a partial UTF-8 sequence at the cut.
  const s = slice.toString('utf8').replace(/^\uFFFD+|\uFFFD+$/g, '');
  return keep === 'tail' ? note + s : s + note;
}

export function createArtifactStore(dataDir: string, projectId: string, redact: (t: string) => string): ArtifactStore {
  const root = join(dataDir, 'artifacts', projectId);
  const dir = (taskId: string, attempt: number) => join(root, taskId, String(attempt));
  return {
    dir,
    async write(taskId, attempt, name, text, keep = 'tail') {
      const d = dir(taskId, attempt);
      await mkdir(d, { recursive: true });
      await writeFile(join(d, name), capText(redact(text), ARTIFACT_CAP_BYTES, keep));
      return name;
    },
  };
}
