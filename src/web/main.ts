/** Browser entry: read the token, start the dashboard, expose it for tests and benchmarks. */
import { startApp, type App } from './app.ts';
import { readToken } from './token.ts';

declare global {
  interface Window {
    devteam?: App;
  }
}

const root = document.getElementById('app');
if (root) window.devteam = startApp(root, { baseUrl: location.origin, token: readToken() });
