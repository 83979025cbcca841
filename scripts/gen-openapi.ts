/**
 * Regenerates docs/openapi.json from the route table and zod schemas:
 *   npx tsx scripts/gen-openapi.ts          write the file
 *   npx tsx scripts/gen-openapi.ts --check  exit 1 when the committed file has drifted (CI)
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { openApiText } from '../src/server/openapi.ts';

const target = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));
const text = openApiText();
if (process.argv.includes('--check')) {
  const committed = await readFile(target, 'utf8').catch(() => '');
  if (committed !== text) {
    process.stderr.write(`${target} is out of date: run npx tsx scripts/gen-openapi.ts\n`);
    process.exit(1);
  }
  process.stdout.write(`${target} is up to date\n`);
} else {
  await writeFile(target, text);
  process.stdout.write(`wrote ${target}\n`);
}
