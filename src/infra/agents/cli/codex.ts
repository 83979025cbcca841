/**
 * OpenAI Codex CLI (`@openai/codex`, binary `codex`) as a headless coding agent: one
 * `codex exec --json` run per attempt, JSONL events on stdout.
 *
 * Sources (pinned 0.171.0): `codex exec --help` of the installed binary, and
 *   non-interactive mode: https://developers.openai.com/codex/noninteractive
 *   config keys:          https://developers.openai.com/codex/config-reference
 *   custom providers:     https://developers.openai.com/codex/config-advanced (model_providers)
 *   JSONL event schema:   codex-rs/exec/src/exec_events.rs (github.com/openai/codex)
 *
 * Settings live in a per-run CODEX_HOME/config.toml (no secrets: the provider names the
 * env var holding the key), checked with --strict-config so a misspelled key fails loudly.
 * Commands run in Codex's own `workspace-write` sandbox (bundled bubblewrap): writes only
 * inside the worktree, and `.git` stays read-only — the agent cannot commit, the runner does.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { attemptTimeoutMs, pickEnv, sandboxPath, type AgentDeps } from '../command.ts';
import { checkPromptFile, freshAgentHome, PROMPT_MARK, runCli, versionProber, withPromptFromFile, type CliAgent } from './common.ts';
import type { CodexAgentConfig } from './config.ts';
import { createStreamParser, isObj, num, oneLine, str, usageEvent, type AgentEvent, type AgentStreamParser, type ParserState } from './events.ts';

/** Provider id used in config.toml when config.baseUrl is set. */
export const CODEX_PROVIDER_ID = 'devteam';

/** The argv of one run, ending with `--` and the prompt mark. Every flag is in `codex exec --help` (0.171.0). */
export function codexArgv(workdir: string, config: Pick<CodexAgentConfig, 'model' | 'args' | 'sandboxMode'>): string[] {
  return [
    'codex', 'exec',
    '--json', // JSONL events on stdout
    '--ephemeral', // no session files on disk
    '--strict-config', // unknown config.toml keys are errors, not silently ignored
    '--sandbox', config.sandboxMode ?? 'workspace-write', // commands may write the worktree only (.git read-only)
    '--cd', workdir, // the agent's working root
    ...(config.model ? ['--model', config.model] : []),
    ...(config.args ?? []),
    '--', // the prompt is an operand even if it starts with '-' or names a subcommand
    PROMPT_MARK,
  ];
}

const toml = (s: string): string => JSON.stringify(s); // a JSON string of printable text is a TOML basic string

/**
 * config.toml for the run. Keys per the config reference: approval_policy "never" (exec
 * never asks anyway), no update check, analytics/feedback off, no history file, no OTel
 * export, secrets filtered from the commands' env (shell_environment_policy); with baseUrl a
 * custom Responses-API provider whose key is read from `apiKeyEnv`.
 */
export function codexConfigToml(config: Pick<CodexAgentConfig, 'baseUrl' | 'apiKeyEnv' | 'maxRetries'>): string {
  const lines = [
    '# Written by DevTeam Runner before every Codex run.',
    ...(config.baseUrl ? [`model_provider = ${toml(CODEX_PROVIDER_ID)}`] : []),
    'approval_policy = "never"',
    'check_for_update_on_startup = false',
    '',
    '[analytics]', 'enabled = false', '',
    '[feedback]', 'enabled = false', '',
    '[history]', 'persistence = "none"', '',
    '[otel]', 'exporter = "none"', '',
    // Commands the agent runs must not see the key: drop *KEY*/*SECRET*/*TOKEN* variables and
    // the endpoint's key variable (0.171 passed DEVTEAM_MODEL_KEY through without this).
    '[shell_environment_policy]',
    'ignore_default_excludes = false',
    `exclude = [${['*KEY*', '*SECRET*', '*TOKEN*', ...(config.apiKeyEnv ? [config.apiKeyEnv] : [])].map(toml).join(', ')}]`,
    '',
  ];
  if (config.baseUrl) {
    lines.push(
      `[model_providers.${CODEX_PROVIDER_ID}]`,
      'name = "DevTeam endpoint"',
      `base_url = ${toml(config.baseUrl)}`,
      `env_key = ${toml(config.apiKeyEnv ?? 'OPENAI_API_KEY')}`,
      'wire_api = "responses"',
      ...(config.maxRetries !== undefined ? [`request_max_retries = ${config.maxRetries}`, `stream_max_retries = ${config.maxRetries}`] : []),
      '',
    );
  }
  return lines.join('\n');
}

/** The environment the adapter sets (CODEX_HOME: https://developers.openai.com/codex/config-advanced). */
export function codexEnv(home: string): Record<string, string> {
  return { HOME: home, CODEX_HOME: home, TMPDIR: path.posix.join(home, 'tmp') };
}

function itemEvents(item: Record<string, unknown>, st: ParserState): AgentEvent[] {
  const failed = item.status === 'failed' || item.status === 'declined';
  const status = failed ? 'failed' : 'ok';
  switch (item.type) {
    case 'agent_message':
      st.outcome.finalMessage = oneLine(item.text);
      return [{ kind: 'message', summary: oneLine(item.text) }];
    case 'file_change': {
      const changes = Array.isArray(item.changes) ? item.changes.filter(isObj) : [];
      return changes.map((c) => ({ kind: 'edit', tool: 'apply_patch', path: str(c.path) ?? '?', status, summary: oneLine(`${c.kind ?? 'change'} ${c.path}`) }));
    }
    case 'command_execution': {
      const command = oneLine(item.command);
      const code = typeof item.exit_code === 'number' ? ` (exit ${item.exit_code})` : '';
      return [{ kind: 'command', tool: 'exec_command', command, status: failed || num(item.exit_code) !== 0 ? 'failed' : 'ok', summary: oneLine(`$ ${command}${code}`) }];
    }
    case 'mcp_tool_call':
      return [{ kind: 'tool', tool: `${item.server}.${item.tool}`, status, summary: oneLine(`mcp ${item.server}.${item.tool}`) }];
    case 'web_search':
      return [{ kind: 'tool', tool: 'web_search', status, summary: oneLine(`web search ${item.query ?? ''}`) }];
    case 'todo_list':
      return [{ kind: 'tool', tool: 'todo_list', status, summary: oneLine(`plan: ${Array.isArray(item.items) ? item.items.length : 0} items`) }];
    case 'error':
      return [{ kind: 'error', source: 'agent', summary: oneLine(item.message) }];
    default:
      return []; // reasoning, …
  }
}

const statusIn = (text: string): number | null => {
  const m = /\bstatus:? (\d{3})\b/.exec(text);
  return m ? Number(m[1]) : null;
};

/** One `codex exec --json` object → events (event and item types: exec_events.rs). */
function handleCodex(o: Record<string, unknown>, st: ParserState): AgentEvent[] {
  switch (o.type) {
    case 'item.completed':
      return isObj(o.item) ? itemEvents(o.item, st) : [];
    case 'turn.completed': {
      const u = isObj(o.usage) ? o.usage : {};
      // input_tokens includes cached_input_tokens (Responses API usage semantics).
      st.usage.inputTokens += num(u.input_tokens) - num(u.cached_input_tokens);
      st.usage.cachedTokens += num(u.cached_input_tokens);
      st.usage.outputTokens += num(u.output_tokens);
      st.usage.note = 'Codex reports tokens but no cost';
      st.outcome.finished = true;
      return [usageEvent(st.usage), { kind: 'result', status: 'ok', summary: oneLine(`done: ${st.outcome.finalMessage ?? ''}`), usage: { ...st.usage } }];
    }
    case 'turn.failed': {
      const message = oneLine(isObj(o.error) ? o.error.message : o.error);
      st.outcome.finished = true;
      st.outcome.isError = true;
      st.outcome.errorText = message;
      st.outcome.httpStatus = statusIn(message) ?? st.outcome.httpStatus;
      return [{ kind: 'result', status: 'failed', summary: oneLine(`failed: ${message}`), usage: { ...st.usage } }];
    }
    case 'error': {
      const message = oneLine(o.message);
      st.outcome.httpStatus = statusIn(message) ?? st.outcome.httpStatus;
      return [{ kind: 'error', source: 'agent', summary: message }];
    }
    default:
      return []; // thread.started, turn.started, item.started/updated
  }
}

/** Parser for `codex exec --json` stdout. */
export function createCodexParser(): AgentStreamParser {
  return createStreamParser('codex', handleCodex);
}

/**
 * Codex adapter. Needs `sh` and `codex` in the sandbox. Key: without baseUrl, Codex's own
 * provider reads CODEX_API_KEY / OPENAI_API_KEY (list it in envKeys); with baseUrl, the
 * variable named by apiKeyEnv (default OPENAI_API_KEY), also listed in envKeys.
 */
export function createCodexAgent(config: CodexAgentConfig, deps: AgentDeps): CliAgent {
  const log = deps.logger.child({ agent: 'codex' });
  const version = versionProber(['codex', '--version']);
  return {
    kind: 'codex',
    requiredTools: () => ['sh', 'codex'],
    async run(args) {
      await checkPromptFile(args);
      const home = await freshAgentHome(args, 'codex');
      await writeFile(path.join(home.host, 'config.toml'), codexConfigToml(config));
      const env = { ...pickEnv(config.envKeys, deps.env, log), ...codexEnv(home.sandbox) };
      const ver = await version(args.sandbox, env, args.signal);
      const argv = withPromptFromFile(sandboxPath(args, args.promptPath), codexArgv(args.sandbox.workdir, config));
      return runCli(args, { kind: 'codex', argv, env, parser: createCodexParser(), model: config.model ?? null, version: ver, timeoutMs: attemptTimeoutMs(args, config) }, log);
    },
  };
}
