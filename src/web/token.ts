/**
 * The API token, when the server requires one: taken once from `?token=` (then removed from the
 * address bar so it is not bookmarked or shared), kept in sessionStorage for this tab.
 */
const KEY = 'devteam.token';

export function readToken(loc: Location = location, storage: Storage = sessionStorage, hist: History = history): string | undefined {
  const url = new URL(loc.href);
  const fromQuery = url.searchParams.get('token');
  if (fromQuery) {
    storage.setItem(KEY, fromQuery);
    url.searchParams.delete('token');
    hist.replaceState(hist.state, '', url.pathname + url.search + url.hash);
    return fromQuery;
  }
  return storage.getItem(KEY) ?? undefined;
}
