/**
 * Host-side workspace preparation for the docker sandbox: which uid:gid the container runs as,
 * and making the bind-mounted workspace writable for it.
 *
 * Policy:
 * - runner not root: the container runs as the runner's own uid:gid (the files the runner writes
 *   on the host are then the sandbox's files too); nothing is chowned.
 * - runner is root: the container runs as 1000:1000 (the image's `devteam` user), never as root.
 *   ensure() chowns every workspace entry not owned by 1000:1000 to it, and before every exec the
 *   entries the (root) runner wrote on the host since are handed over too (GNU `chown -R -h
 *   --from=0`, one native walk; symlinks are never followed), so host-written files and
 *   directories stay editable inside the sandbox.
 * An explicit `user` option overrides the uid:gid; chowning still happens only when root.
 */
import { execFile } from 'node:child_process';
import { lchown, lstat, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { SandboxError } from './types.ts';

export const DEFAULT_SANDBOX_UID = 1000;
export const DEFAULT_SANDBOX_GID = 1000;

/** The uid:gid the sandbox runs as (see the policy above). */
export function sandboxUser(explicit?: string): string {
  if (explicit) return explicit;
  const uid = process.getuid?.() ?? DEFAULT_SANDBOX_UID;
  if (uid !== 0) return `${uid}:${process.getgid?.() ?? uid}`;
  return `${DEFAULT_SANDBOX_UID}:${DEFAULT_SANDBOX_GID}`;
}

const execFileP = promisify(execFile);

/** Numeric uid/gid of a `uid:gid` user, or null (a user name: ownership is left alone). */
function numericUser(user: string): { uid: number; gid: number } | null {
  const [uidText, gidText = uidText] = user.split(':');
  const uid = Number(uidText);
  const gid = Number(gidText);
  return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : null;
}

/** Create the workspace if needed; when running as root, chown entries not owned by `user`. Returns entries changed. */
export async function prepareWorkspace(dir: string, user: string): Promise<number> {
  await mkdir(dir, { recursive: true });
  const ids = numericUser(user);
  if (process.getuid?.() !== 0 || !ids) return 0;
  const { uid, gid } = ids;
  try {
    return await chownTree(dir, uid, gid);
  } catch (err) {
    throw new SandboxError(`cannot hand workspace ${dir} to ${user}: ${(err as Error).message}`, 'container_failed', false, {
      cause: err,
    });
  }
}

/** Depth-first chown (without following symlinks) of every entry whose owner differs. */
async function chownTree(root: string, uid: number, gid: number): Promise<number> {
  let changed = 0;
  const stack = [root];
  while (stack.length > 0) {
    const p = stack.pop() as string;
    let st;
    try {
      st = await lstat(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed meanwhile
      throw err;
    }
    if (st.uid !== uid || st.gid !== gid) {
      await lchown(p, uid, gid);
      changed++;
    }
    if (st.isDirectory()) {
      for (const name of await readdir(p)) stack.push(path.join(p, name));
    }
  }
  return changed;
}

/**
 * Before an exec (root runner only): hand entries the runner created as root since the last call
 * to the sandbox user. One `chown -R -h --from=0` process (GNU coreutils); falls back to the
 * portable walk when that fails (e.g. a non-GNU chown).
 */
export async function reclaimRootOwned(dir: string, user: string): Promise<void> {
  const ids = numericUser(user);
  if (process.getuid?.() !== 0 || !ids || ids.uid === 0) return;
  try {
    await execFileP('chown', ['-R', '-h', '--from=0', `${ids.uid}:${ids.gid}`, '--', dir]);
  } catch {
    await prepareWorkspace(dir, user);
  }
}
