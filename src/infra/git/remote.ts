/**
 * Network operations against the project's repository: clone, fetch of the target
 * branch, push of one branch. Every call passes `url` explicitly and pins the remote
 * config first — the agent can edit `.git/config` inside the workspace, and
 * isomorphic-git otherwise consults it (fetch refspecs, pushurl, http.corsProxy).
 */
import fs from 'node:fs';
import git from 'isomorphic-git';
import type { Logger } from '../logger.ts';
import { makeOnAuth } from './auth.ts';
import { toGitError } from './errors.ts';
import { makeHttpClient } from './httpClient.ts';
import { GitError } from './types.ts';

export interface RemoteOptions {
  url: string;
  branch: string;
  token?: string;
  allowPrivateHosts: boolean;
  idleTimeoutMs: number;
  logger: Logger;
}

const FETCH_REFSPEC = '+refs/heads/*:refs/remotes/origin/*';

export class Remote {
  constructor(private readonly o: RemoteOptions) {}

  private common(signal?: AbortSignal) {
    return {
      fs,
      http: makeHttpClient({ allowPrivateHosts: this.o.allowPrivateHosts, idleTimeoutMs: this.o.idleTimeoutMs, signal }),
      url: this.o.url,
      onAuth: makeOnAuth(this.o.url, this.o.token),
      // '' (not undefined) stops isomorphic-git from reading http.corsProxy from the config.
      corsProxy: '',
    };
  }

  private fail(err: unknown, op: string, signal?: AbortSignal): never {
    // A caller's abort is not a git failure: surface the caller's own reason.
    if (signal?.aborted) throw signal.reason;
    throw toGitError(err, { op, branch: this.o.branch, token: this.o.token });
  }

  private missing(): GitError {
    return new GitError(`Target branch '${this.o.branch}' does not exist on the remote repository`, 'branch_missing');
  }

  /** Full single-branch clone into `dir` (no checkout; the caller does a clean one). */
  async clone(dir: string, signal?: AbortSignal): Promise<string> {
    const t0 = Date.now();
    try {
      await git.clone({ ...this.common(signal), dir, ref: this.o.branch, singleBranch: true, noTags: true, noCheckout: true });
    } catch (err) {
      if ((err as any)?.code === git.Errors.NotFoundError.code) throw this.missing();
      this.fail(err, `clone of ${this.o.branch}`, signal);
    }
    const oid = await git
      .resolveRef({ fs, dir, ref: `refs/remotes/origin/${this.o.branch}` })
      .catch(() => Promise.reject(this.missing()));
    this.o.logger.info({ ms: Date.now() - t0, oid }, 'git clone done');
    return oid;
  }

  /** Fetch the target branch into refs/remotes/origin/<branch>; returns its oid. */
  async fetch(dir: string, cache: object, signal?: AbortSignal): Promise<string> {
    const t0 = Date.now();
    await this.pinConfig(dir);
    let res;
    try {
      res = await git.fetch({
        ...this.common(signal),
        dir,
        cache,
        remote: 'origin',
        ref: this.o.branch,
        remoteRef: this.o.branch,
        singleBranch: true,
        tags: false,
      });
    } catch (err) {
      if ((err as any)?.code === git.Errors.NotFoundError.code) throw this.missing();
      this.fail(err, `fetch of ${this.o.branch}`, signal);
    }
    if (!res.fetchHead) throw this.missing();
    // Written explicitly as well: the tracking ref must not depend on refspec config.
    await git.writeRef({ fs, dir, ref: `refs/remotes/origin/${this.o.branch}`, value: res.fetchHead, force: true });
    this.o.logger.debug({ ms: Date.now() - t0, oid: res.fetchHead }, 'git fetch done');
    return res.fetchHead;
  }

  /** Push local refs/heads/<ref> to the same name on the remote, never forced. */
  async push(dir: string, cache: object, ref: string, signal?: AbortSignal): Promise<void> {
    const t0 = Date.now();
    await this.pinConfig(dir);
    try {
      await git.push({ ...this.common(signal), dir, cache, remote: 'origin', ref, remoteRef: ref, force: false, signal });
    } catch (err) {
      this.fail(err, `push of ${ref}`, signal);
    }
    this.o.logger.info({ ms: Date.now() - t0, ref }, 'git push done');
  }

  /** Branch names on the remote (`refs/heads/*` without the prefix). */
  async branches(signal?: AbortSignal): Promise<string[]> {
    const { fs: _fs, ...c } = this.common(signal);
    try {
      const refs = await git.listServerRefs({ http: c.http, url: c.url, onAuth: c.onAuth, corsProxy: c.corsProxy, prefix: 'refs/heads/' });
      return refs.map((r) => r.ref.slice('refs/heads/'.length));
    } catch (err) {
      this.fail(err, 'listing of the branches', signal);
    }
  }

  /** Reset the remote config entries isomorphic-git reads, whatever the agent wrote there. */
  private async pinConfig(dir: string): Promise<void> {
    const want: [string, string][] = [
      ['remote.origin.url', this.o.url],
      ['remote.origin.fetch', FETCH_REFSPEC],
    ];
    for (const [path, value] of want) {
      const all = await git.getConfigAll({ fs, dir, path });
      if (all.length === 1 && all[0] === value) continue;
      for (let i = 0; i < all.length; i++) await git.setConfig({ fs, dir, path, value: undefined });
      await git.setConfig({ fs, dir, path, value });
    }
    for (const path of ['remote.origin.pushurl', 'http.corsProxy']) {
      if ((await git.getConfigAll({ fs, dir, path })).length > 0) await git.setConfig({ fs, dir, path, value: undefined });
    }
  }
}
