/**
 * `devteam watch <projectId>` (also the second half of `devteam demo`): follow one project over
 * the stream client until it comes to rest. Exit codes are the contract for scripts: 0 when the
 * project goes idle, 1 when it halts or stops, 2 when the connection is lost for good.
 *
 * The view is kept from the stream alone: the subscribe `snapshot` gives the full status,
 * transitions move the state, task envelopes move the counts; a REST refresh after each task
 * event fills in what envelopes do not carry (titles). On a terminal the output is a fixed live
 * panel (log tail, state, current task, progress bar) redrawn in place; on a pipe it is one
 * line per event; with --json one envelope per line (NDJSON) and a final `result` line.
 */
import type { DevTeamClient } from '../client/rest.ts';
import { createStream, type Delivered, type StreamOptions } from '../client/stream.ts';
import type { ProjectStatus } from '../domain/status.ts';
import { laneLine, oneLine, progressBar, stateLabel, taskLabel } from './format.ts';

export interface WatchOptions {
  client: DevTeamClient;
  stream: Omit<StreamOptions, 'url'> & { url?: string };
  projectId: string;
  out: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  json?: boolean;
  /** Log lines kept in the live panel (terminal only). */
  tail?: number;
  /** Consecutive failed reconnects before giving up with exit 2 (default 10). */
  maxReconnects?: number;
  /** Called with every delivered envelope (the demo uses it for timings). */
  onEnvelope?(e: Delivered): void;
}

export interface WatchResult {
  exitCode: 0 | 1 | 2;
  status: ProjectStatus | null;
  /** For exit 2: the one-line reason. */
  error?: string;
}

const EXIT: Record<string, 0 | 1> = { idle: 0, halted: 1, stopped: 1 };
const short = (path: string | null) => (path ?? '∅').replace(/(^|,)active\./g, '$1');

export async function watchProject(o: WatchOptions): Promise<WatchResult> {
  let status: ProjectStatus = await o.client.status(o.projectId);
  const tty = !o.json && !!o.out.isTTY;
  const tailSize = o.tail ?? 8;
  const maxReconnects = o.maxReconnects ?? 10;
  const logTail: string[] = [];
  let panelHeight = 0;
  let renderTimer: ReturnType<typeof setTimeout> | null = null;

  const write = (s: string) => o.out.write(s);
  const width = () => Math.max(40, (o.out.columns ?? 100) - 1);
  const panel = () => [
    ...logTail.map((l) => l.slice(0, width())),
    `${status.projectId}  ${stateLabel(status)}  seq ${status.seq}`.slice(0, width()),
    ...(status.lanes.length > 1 ? status.lanes.map((l) => `lane ${laneLine(l)}`.slice(0, width())) : [`task ${taskLabel(status)}`.slice(0, width())]),
    ...(status.mergeQueue.length ? [`merge queue ${status.mergeQueue.join(' → ')}`.slice(0, width())] : []),
    progressBar(status.taskCounts),
  ];
  const render = () => {
    renderTimer = null;
    const lines = panel();
    const up = panelHeight > 1 ? `\x1b[${panelHeight - 1}A` : '';
    write(`${panelHeight ? `\r${up}\x1b[J` : ''}${lines.join('\n')}`);
    panelHeight = lines.length;
  };
  const schedule = () => {
    if (tty && !renderTimer) renderTimer = setTimeout(render, 40);
  };
  const line = (s: string) => {
    if (tty) {
      logTail.push(s);
      if (logTail.length > tailSize) logTail.shift();
      schedule();
    } else if (!o.json) write(`${s}\n`);
  };
  const summary = (s: ProjectStatus) => `${s.projectId}: ${stateLabel(s)} · task ${taskLabel(s)} · ${progressBar(s.taskCounts)}`;

  const refresh = () => {
    o.client.status(o.projectId).then(
      (s) => {
        if (s.seq >= status.seq) {
          status = s;
          schedule();
        }
      },
      () => undefined, // the stream reports connection trouble; a missed refresh only costs a title
    );
  };

  if (!o.json) (tty ? schedule : line)(summary(status));
  if (EXIT[status.state] !== undefined) return finish(EXIT[status.state]!);

  const stream = createStream({ ...o.stream, url: o.stream.url ?? o.client.baseUrl });
  return new Promise<WatchResult>((resolve) => {
    let done = false;
    const end = (r: WatchResult) => {
      if (done) return;
      done = true;
      stream.close();
      resolve(r);
    };
    stream.onState((state, info) => {
      if (state === 'reconnecting') {
        if (info.attempt > maxReconnects) {
          end({ exitCode: 2, status, error: `lost connection to DevTeam Runner at ${o.client.baseUrl}: ${info.error?.message ?? 'closed'}` });
          return;
        }
        if (info.attempt === 1 || !tty) line(`connection lost (${info.error?.message ?? 'closed'}); reconnecting in ${((info.delay ?? 0) / 1000).toFixed(1)} s (attempt ${info.attempt})`);
      } else if (state === 'closed' && info.error) {
        end({ exitCode: 2, status, error: `DevTeam Runner at ${o.client.baseUrl} refused the stream: ${info.error.message}` });
      }
    });
    stream.onEnvelope((e) => {
      o.onEnvelope?.(e);
      if (o.json) write(`${JSON.stringify(e)}\n`);
      if (!('projectId' in e) || e.projectId !== o.projectId) return;
      let terminal: string | null = null;
      switch (e.type) {
        case 'snapshot':
          status = e.payload;
          line(summary(status));
          terminal = status.state;
          break;
        case 'status':
          // The server's status after each transition: state, lanes, counts — nothing re-derived here.
          status = e.payload;
          terminal = status.state;
          break;
        case 'transition': {
          const who = e.payload.taskId ? `task ${e.payload.taskId}: ` : '';
          line(`seq ${e.seq}  ${who}${short(e.payload.from)} → ${short(e.payload.to)}  (${e.payload.event})`);
          break;
        }
        case 'task': {
          const p = e.payload;
          line(`task ${p.taskId} ${p.event} (attempt ${p.attempt})`);
          break;
        }
        case 'log':
          line(`${e.payload.stream === 'stderr' ? '!' : '|'} ${e.payload.line}`);
          break;
        case 'error':
          line(`error: ${oneLine(e.payload.message)}`);
          break;
      }
      schedule();
      if (terminal && EXIT[terminal] !== undefined) {
        const code = EXIT[terminal]!;
        // The final counts come from the committed status (the stream may have been mid-task).
        o.client.status(o.projectId).then(
          (s) => end(finish(code, s.seq >= status.seq ? s : status)),
          () => end(finish(code, status)),
        );
      }
    });
    stream.subscribe([o.projectId]);
  });

  function finish(code: 0 | 1, s: ProjectStatus = status): WatchResult {
    status = s;
    if (renderTimer) clearTimeout(renderTimer);
    if (tty) {
      render();
      write('\n');
    }
    if (o.json) write(`${JSON.stringify({ type: 'result', exitCode: code, status: s })}\n`);
    else write(`${s.projectId} is ${s.state}: ${progressBar(s.taskCounts)}${s.lastError ? ` — ${oneLine(s.lastError)}` : ''}\n`);
    return { exitCode: code, status: s };
  }
}
