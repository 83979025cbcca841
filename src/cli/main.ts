/**
 * `devteam`: the command-line face of DevTeam Runner, built on src/client. Exit codes are part
 * of the interface: 0 success, 1 the server refused (problem+json; unknown project, state
 * conflict …) or `watch` saw the project halt/stop, 2 usage errors and an unreachable server.
 * Every failure is one line on stderr (usage errors add the command's usage line).
 */
import { DevTeamApiError, DevTeamConnectionError } from '../client/errors.ts';
import { createClient, DEFAULT_URL } from '../client/rest.ts';
import type { WebSocketCtor } from '../client/stream.ts';
import type { Command } from '../domain/status.ts';
import { intOption, parseCommandLine, USAGE, UsageError } from './args.ts';
import { controlCommand, deleteCommand, initCommand, statusCommand } from './commands.ts';
import { oneLine } from './format.ts';
import { watchProject } from './watch.ts';

export interface CliIo {
  stdout: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(s: string): unknown };
  env: Record<string, string | undefined>;
}

/** `null`: the command keeps running (serve, demo --keep) and the process must not exit. */
export type CliResult = number | null;

/** The global WebSocket (Node ≥ 22, browsers) or the `ws` package. */
export async function webSocketImpl(): Promise<WebSocketCtor> {
  const g = (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
  if (g) return g;
  try {
    return (await import('ws')).default as unknown as WebSocketCtor;
  } catch {
    throw new Error('no WebSocket implementation: use Node ≥ 22 or install the `ws` package');
  }
}

const CONTROL: Record<string, Command> = { pause: 'PAUSE', resume: 'RESUME', stop: 'STOP', retry: 'RETRY', skip: 'SKIP' };

export async function run(argv: string[], io: CliIo): Promise<CliResult> {
  let parsed;
  try {
    parsed = parseCommandLine(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`devteam: ${err.message}\n${err.usage}\n`);
      return 2;
    }
    throw err;
  }
  if ('help' in parsed) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const p = parsed;
  if (p.values.help) {
    io.stdout.write(`usage: ${p.spec.usage}\n  ${p.spec.summary}\n`);
    return 0;
  }
  const urlFlag = typeof p.values.url === 'string' ? p.values.url : undefined;
  const baseUrl = urlFlag ?? io.env.DEVTEAM_URL ?? DEFAULT_URL;
  const token = (typeof p.values.token === 'string' ? p.values.token : undefined) ?? (io.env.DEVTEAM_API_TOKEN || undefined);
  try {
    new URL(baseUrl);
  } catch {
    io.stderr.write(`devteam: invalid server URL '${baseUrl}'\nusage: ${p.spec.usage}\n`);
    return 2;
  }
  const client = createClient({ baseUrl, token });
  try {
    switch (p.command) {
      case 'serve': {
        const env = { ...io.env };
        if (p.values.port !== undefined) env.DEVTEAM_PORT = String(intOption(p, 'port', 8787));
        const { main } = await import('../main.ts');
        await main([], env);
        return null;
      }
      case 'init':
        return await initCommand(client, p, io.stdout);
      case 'status':
        return await statusCommand(client, p, io.stdout);
      case 'delete':
        return await deleteCommand(client, p, io.stdout);
      case 'watch': {
        const r = await watchProject({
          client,
          stream: { token, WebSocket: await webSocketImpl() },
          projectId: p.positionals[0]!,
          out: io.stdout,
          json: !!p.values.json,
          tail: intOption(p, 'tail', 8, 1),
        });
        if (r.error) io.stderr.write(`devteam: ${oneLine(r.error)}\n`);
        return r.exitCode;
      }
      case 'demo': {
        const { runDemo } = await import('../demo/run.ts');
        return await runDemo({
          url: baseUrl,
          urlGiven: urlFlag !== undefined || io.env.DEVTEAM_URL !== undefined,
          token,
          port: intOption(p, 'port', Number(new URL(baseUrl).port || 8787)),
          dataDir: typeof p.values['data-dir'] === 'string' ? p.values['data-dir'] : undefined,
          keep: !!p.values.keep,
          json: !!p.values.json,
          tail: intOption(p, 'tail', 8, 1),
          out: io.stdout,
          err: io.stderr,
          WebSocket: await webSocketImpl(),
        });
      }
      default:
        return await controlCommand(client, CONTROL[p.command]!, p, io.stdout);
    }
  } catch (err) {
    return report(err, io);
  }
}

/** One stderr line per failure; returns the exit code. */
function report(err: unknown, io: CliIo): number {
  if (err instanceof UsageError) {
    io.stderr.write(`devteam: ${oneLine(err.message)}\n${err.usage}\n`);
    return 2;
  }
  if (err instanceof DevTeamConnectionError) {
    io.stderr.write(`devteam: ${oneLine(err.message)}\n`);
    return 2;
  }
  if (err instanceof DevTeamApiError) {
    const conflict = err.state ? ` (state ${err.state}; accepts ${err.acceptedCommands.join(', ') || 'nothing'})` : '';
    io.stderr.write(`devteam: ${err.status} ${oneLine(err.detail || err.title)}${conflict}\n`);
    return 1;
  }
  io.stderr.write(`devteam: ${oneLine((err as Error)?.message ?? String(err))}\n`);
  return 1;
}

/** Run with the process's argv and exit with the command's code (bin/devteam.js and `tsx src/cli/main.ts`). */
export function cli(argv = process.argv.slice(2)): void {
  run(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => {
      if (code === null) return;
      process.exitCode = code;
      // Flush, then exit: keep-alive sockets or a closed runtime's stragglers must not hold the CLI open.
      process.stdout.write('', () => process.exit(code));
    },
    (err) => {
      process.stderr.write(`devteam: ${oneLine((err as Error)?.stack ?? String(err))}\n`);
      process.exit(1);
    },
  );
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) cli();
