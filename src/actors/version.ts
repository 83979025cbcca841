/** The runner's own version (package.json), recorded in outcomes entries. */
import { readFileSync } from 'node:fs';

export const RUNNER_VERSION: string = (() => {
  try {
    return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version as string;
  } catch {
    return '0.0.0';
  }
})();
