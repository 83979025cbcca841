import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configSchema, loadConfig } from '../../src/infra/config.ts';

describe('loadConfig', () => {
  it('applies defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ DEVTEAM_DATA_DIR: './.devteam', DEVTEAM_PORT: 8787, DEVTEAM_HOST: '127.0.0.1', LOG_LEVEL: 'info', DEVTEAM_MAX_CONCURRENT_STEPS: 4 });
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.allowPrivateRepos).toBe(true); // loopback bind → a local, single-user install
    expect(loadConfig({ DEVTEAM_HOST: '0.0.0.0' }).allowPrivateRepos).toBe(false);
    expect(loadConfig({ DEVTEAM_HOST: '0.0.0.0', DEVTEAM_ALLOW_PRIVATE_REPOS: 'true' }).allowPrivateRepos).toBe(true);
  });

  it('treats empty strings as unset and coerces numbers', () => {
    expect(loadConfig({ DATABASE_URL: '', DEVTEAM_PORT: '9000' })).toMatchObject({ DATABASE_URL: undefined, DEVTEAM_PORT: 9000 });
  });

  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ DEVTEAM_PORT: 'eighty' }, /DEVTEAM_PORT/],
    [{ DEVTEAM_PORT: '70000' }, /DEVTEAM_PORT/],
    [{ DATABASE_URL: 'not a url' }, /DATABASE_URL/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ DEVTEAM_API_TOKEN: 'short' }, /DEVTEAM_API_TOKEN: must be at least 16 characters/],
    [{ DEVTEAM_METRICS_AUTH: 'maybe' }, /DEVTEAM_METRICS_AUTH/],
  ];
  for (const [env, msg] of bad) {
    it(`rejects ${JSON.stringify(env)} naming the variable`, () => {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(msg);
    });
  }

  it('documents every variable with a comment in the schema file', async () => {
    const { readFile } = await import('node:fs/promises');
    const src = await readFile(join(import.meta.dirname, '../../src/infra/config.ts'), 'utf8');
    for (const key of Object.keys(configSchema.shape)) expect(src).toMatch(new RegExp(`/\\*\\*[^*]*\\*/\\s*\\n\\s*${key}:`));
  });

  it('the service exits with code 2 and one clear line on invalid config', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../../src/main.ts')], {
      env: { ...process.env, DEVTEAM_PORT: 'eighty' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^Invalid configuration: DEVTEAM_PORT: /);
  });
});
