/**
 * Wire details of /ws/devteam shared by the stream client: where the stream lives relative to
 * the server's base URL, and turning a frame's data (string in browsers and `ws`, bytes or a
 * Blob elsewhere) into text.
 */

export const WS_PATH = '/ws/devteam';

/** `http://h:p` → `ws://h:p/ws/devteam`; ws URLs with a path are kept. */
export function streamUrl(url: string): string {
  const u = new URL(url);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  if (u.pathname === '/' || u.pathname === '') u.pathname = WS_PATH;
  return u.toString();
}

export async function textOf(data: unknown): Promise<string> {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return new TextDecoder().decode(data as ArrayBuffer);
  if (data && typeof (data as Blob).text === 'function') return (data as Blob).text();
  return String(data);
}
