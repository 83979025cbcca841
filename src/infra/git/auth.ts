/**
 * Token handling. The token reaches isomorphic-git only through `onAuth`, and only for
 * requests to the configured repository's origin — never in a URL, config file, log
 * line or error message.
 */
import type { AuthCallback } from 'isomorphic-git';

/** Username sent with the token; GitHub/Gitea/GitLab accept any username with a token. */
export const TOKEN_USERNAME = 'x-access-token';

/**
 * onAuth for isomorphic-git. Without a token it cancels (the caller maps the resulting
 * error to 'auth'); for any origin other than the repo's it sends nothing.
 */
export function makeOnAuth(repoUrl: string, token: string | undefined): AuthCallback {
  const origin = new URL(repoUrl).origin;
  return (url: string) => {
    let reqOrigin: string;
    try {
      reqOrigin = new URL(url).origin;
    } catch {
      return { cancel: true };
    }
    if (!token || reqOrigin !== origin) return { cancel: true };
    return { username: TOKEN_USERNAME, password: token };
  };
}

/** Replace every occurrence of the token in a string (belt and braces for error texts). */
export function scrub(text: string, token: string | undefined): string {
  if (!token) return text;
  return text.split(token).join('[redacted]');
}
