/**
 * Launching Debian's Chromium (installed by scripts/install-chromium.sh) with playwright-core,
 * headless, with background networking off: without those flags Chromium hangs on a closed
 * network. Playwright gives every launch a fresh temporary profile (--user-data-dir).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

export function findChromium(): string | null {
  for (const p of [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser']) if (p && existsSync(p)) return p;
  return null;
}

/** Skip reason when Chromium is missing, or throws under CI=true (the CI script installs it). */
export function requireChromium(): string | null {
  if (findChromium()) return null;
  const reason = 'Chromium is not installed (run scripts/install-chromium.sh)';
  if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: a missing browser is a failure)`);
  process.stderr.write(`\n*** SKIPPING browser tests: ${reason} ***\n`);
  return reason;
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error('Chromium is not installed (run scripts/install-chromium.sh)');
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}
