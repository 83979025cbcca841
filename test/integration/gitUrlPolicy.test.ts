/**
 * validateRepoUrl: URL shape and host policy (literal addresses, resolved names, real DNS for localhost).
 */
import { describe, expect, it } from 'vitest';
import { GitError, validateRepoUrl } from '../../src/infra/git/index.ts';

async function outcome(url: string, allowPrivate: boolean, resolved?: string[]): Promise<string> {
  const resolve = resolved ? async () => resolved : undefined;
  try {
    await validateRepoUrl(url, { allowPrivate, resolve });
    return 'ok';
  } catch (e) {
    if (e instanceof GitError) return e.code;
    throw e;
  }
}

describe('validateRepoUrl', () => {
  // [url, allowPrivate=false, allowPrivate=true]
  const literal: [string, string, string][] = [
    ['https://github.com/o/r.git', 'ok', 'ok'], // name: resolved below with a fixed answer
    ['ssh://git@github.com/o/r.git', 'invalid_url', 'invalid_url'],
    ['git://example.com/r.git', 'invalid_url', 'invalid_url'],
    ['file:///etc/passwd', 'invalid_url', 'invalid_url'],
    ['not a url', 'invalid_url', 'invalid_url'],
    ['https://user:secret@example.com/r.git', 'invalid_url', 'invalid_url'],
    ['https://ghp_tokenonly@example.com/r.git', 'invalid_url', 'invalid_url'],
    ['http://169.254.169.254/latest/meta-data', 'forbidden_host', 'forbidden_host'],
    ['http://169.254.0.1/r.git', 'forbidden_host', 'forbidden_host'],
    ['http://[fe80::1]/r.git', 'forbidden_host', 'forbidden_host'],
    ['http://[febf:ffff::1]/r.git', 'forbidden_host', 'forbidden_host'],
    ['http://[::ffff:169.254.169.254]/r.git', 'forbidden_host', 'forbidden_host'],
    ['http://[::ffff:a9fe:a9fe]/r.git', 'forbidden_host', 'forbidden_host'],
    ['http://[64:ff9b::a9fe:a9fe]/r.git', 'forbidden_host', 'forbidden_host'],
    ['http://127.0.0.1:8080/r.git', 'forbidden_host', 'ok'],
    ['http://127.8.9.10/r.git', 'forbidden_host', 'ok'],
    ['http://[::1]/r.git', 'forbidden_host', 'ok'],
    ['http://[::ffff:127.0.0.1]/r.git', 'forbidden_host', 'ok'],
    ['http://10.1.2.3/r.git', 'forbidden_host', 'ok'],
    ['http://172.16.0.1/r.git', 'forbidden_host', 'ok'],
    ['http://172.31.255.255/r.git', 'forbidden_host', 'ok'],
    ['http://172.32.0.1/r.git', 'ok', 'ok'],
    ['http://172.15.255.255/r.git', 'ok', 'ok'],
    ['http://192.168.1.1/r.git', 'forbidden_host', 'ok'],
    ['http://[fc00::1]/r.git', 'forbidden_host', 'ok'],
    ['http://[fd12:3456::1]/r.git', 'forbidden_host', 'ok'],
    ['http://0.0.0.0/r.git', 'forbidden_host', 'ok'],
    ['http://0.1.2.3/r.git', 'forbidden_host', 'ok'],
    ['http://[::]/r.git', 'forbidden_host', 'ok'],
    ['http://8.8.8.8/r.git', 'ok', 'ok'],
    ['http://[2606:4700::1111]/r.git', 'ok', 'ok'],
    ['http://[fec0::1]/r.git', 'ok', 'ok'], // just outside fe80::/10
    ['http://2852039166/r.git', 'forbidden_host', 'forbidden_host'], // decimal form of 169.254.169.254, normalised by URL
    ['http://0xa9.0xfe.0xa9.0xfe/r.git', 'forbidden_host', 'forbidden_host'],
  ];
  it.each(literal)('%s → %s / %s (allowPrivate)', async (url, strict, lax) => {
    const fixed = url.includes('github.com') ? ['140.82.112.3'] : undefined;
    expect(await outcome(url, false, fixed)).toBe(strict);
    expect(await outcome(url, true, fixed)).toBe(lax);
  });

  // Host names judged by what they resolve to (every address must pass).
  const resolved: [string[], string, string][] = [
    [['140.82.112.3'], 'ok', 'ok'],
    [['140.82.112.3', '169.254.169.254'], 'forbidden_host', 'forbidden_host'],
    [['::ffff:a9fe:a9fe'], 'forbidden_host', 'forbidden_host'],
    [['10.0.0.5'], 'forbidden_host', 'ok'],
    [['2606:4700::1111', '::1'], 'forbidden_host', 'ok'],
  ];
  it.each(resolved)('name resolving to %j → %s / %s', async (addrs, strict, lax) => {
    expect(await outcome('https://git.example.test/r.git', false, addrs)).toBe(strict);
    expect(await outcome('https://git.example.test/r.git', true, addrs)).toBe(lax);
  });

  it('resolves names with the system resolver by default (localhost is loopback)', async () => {
    expect(await outcome('http://localhost:3000/r.git', false)).toBe('forbidden_host');
    expect(await outcome('http://localhost:3000/r.git', true)).toBe('ok');
  });

  it('never echoes embedded credentials', async () => {
    const err = await validateRepoUrl('https://me:hunter2@example.com/r.git', { allowPrivate: false }).catch((e) => e);
    expect(err).toBeInstanceOf(GitError);
    expect(err.message).not.toContain('hunter2');
  });
});
