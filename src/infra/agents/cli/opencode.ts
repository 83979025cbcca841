/**
 * opencode (`opencode-ai`, binary `opencode`) as a headless coding agent: one
 * `opencode run --format json` run per attempt.
 *
 * Sources (pinned 1.18.33): `opencode run --help` of the installed binary, and
 *   CLI + environment variables: https://opencode.ai/docs/cli/
 *   config (OPENCODE_CONFIG_CONTENT, precedence): https://opencode.ai/docs/config/
 *   custom OpenAI-compatible providers: https://opencode.ai/docs/providers/#custom-provider
 *   permissions: https://opencode.ai/docs/permissions/
 *
 * The whole config is passed inline (OPENCODE_CONFIG_CONTENT, the highest-precedence source)
 * and OPENCODE_DISABLE_PROJECT_CONFIG keeps the repository's opencode.json/.opencode from
 * redirecting the provider. The key stays in the environment: the config refers to it as
 * `{env:NAME}`. opencode's `snapshot` (see its events) is its own git store in the data dir,
 * not a commit in the worktree.
 */
import path from 'node:path';
import { attemptTimeoutMs, pickEnv, sandboxPath, type AgentDeps } from '../command.ts';
import { checkPromptFile, freshAgentHome, PROMPT_MARK, runCli, versionProber, withPromptFromFile, type CliAgent } from './common.ts';
import type { OpencodeAgentConfig } from './config.ts';
import { createStreamParser, isObj, num, oneLine, str, usageEvent, type AgentEvent, type AgentStreamParser, type ParserState } from './events.ts';

/** Provider id in the generated config when config.baseUrl is set. */
export const OPENCODE_PROVIDER_ID = 'devteam';
const EDIT_TOOLS = new Set(['write', 'edit', 'patch', 'multiedit', 'apply_patch']);

/** `provider/model` as opencode's --model wants it. */
export function opencodeModelRef(config: Pick<OpencodeAgentConfig, 'model' | 'baseUrl'>): string | undefined {
  if (!config.model) return undefined;
  return config.baseUrl ? `${OPENCODE_PROVIDER_ID}/${config.model}` : config.model;
}

/** The argv of one run, ending with `--` and the prompt mark (flags: `opencode run --help`). */
export function opencodeArgv(config: Pick<OpencodeAgentConfig, 'model' | 'baseUrl' | 'args'>): string[] {
  const model = opencodeModelRef(config);
  return [
    'opencode', 'run',
    '--format', 'json', // raw JSON events, one per line
    ...(model ? ['--model', model] : []),
    ...(config.args ?? []),
    '--',
    PROMPT_MARK,
  ];
}

/**
 * The inline config: provider (with baseUrl), model for the loop and for titles, no
 * auto-update, no sharing; permissions: edits and shell allowed, `git commit`/`git push`
 * denied (the runner commits; later bash patterns win), nothing outside the worktree.
 */
export function opencodeConfig(config: Pick<OpencodeAgentConfig, 'model' | 'baseUrl' | 'apiKeyEnv'>): Record<string, unknown> {
  const model = opencodeModelRef(config);
  return {
    $schema: 'https://opencode.ai/config.json',
    ...(config.baseUrl
      ? {
          provider: {
            [OPENCODE_PROVIDER_ID]: {
              npm: '@ai-sdk/openai-compatible',
              name: 'DevTeam endpoint',
              options: { baseURL: config.baseUrl, apiKey: `{env:${config.apiKeyEnv ?? 'OPENAI_API_KEY'}}` },
              models: config.model ? { [config.model]: { name: config.model } } : {},
            },
          },
        }
      : {}),
    ...(model ? { model, small_model: model } : {}),
    autoupdate: false,
    share: 'disabled',
    permission: {
      edit: 'allow',
      bash: { '*': 'allow', 'git commit*': 'deny', 'git push*': 'deny' },
      external_directory: 'deny',
    },
  };
}

/**
 * The environment the adapter sets. OPENCODE_* variables: https://opencode.ai/docs/cli/#environment-variables
 * (each name also read by the 1.18.33 binary: `strings bin/opencode.exe`); XDG_* base dirs:
 * where opencode keeps config, data (sessions, snapshots), cache and state (https://opencode.ai/docs/config/).
 */
export function opencodeEnv(home: string, config: Pick<OpencodeAgentConfig, 'model' | 'baseUrl' | 'apiKeyEnv'>): Record<string, string> {
  return {
    HOME: home,
    XDG_CONFIG_HOME: path.posix.join(home, 'config'),
    XDG_DATA_HOME: path.posix.join(home, 'data'),
    XDG_CACHE_HOME: path.posix.join(home, 'cache'),
    XDG_STATE_HOME: path.posix.join(home, 'state'),
    TMPDIR: path.posix.join(home, 'tmp'),
    OPENCODE_CONFIG_CONTENT: JSON.stringify(opencodeConfig(config)),
    OPENCODE_DISABLE_PROJECT_CONFIG: '1', // ignore the repo's opencode.json / .opencode
    OPENCODE_DISABLE_AUTOUPDATE: '1',
    OPENCODE_DISABLE_MODELS_FETCH: '1', // no models.dev download
    OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
    OPENCODE_DISABLE_DEFAULT_PLUGINS: '1', // no plugin installs at start-up
    OPENCODE_DISABLE_CLAUDE_CODE: '1', // do not read ~/.claude / CLAUDE.md prompts and skills
  };
}

function toolEvent(part: Record<string, unknown>): AgentEvent {
  const name = str(part.tool) ?? '?';
  const state = isObj(part.state) ? part.state : {};
  const input = isObj(state.input) ? state.input : {};
  const status = state.status === 'error' ? 'failed' : state.status === 'completed' ? 'ok' : 'started';
  if (EDIT_TOOLS.has(name)) {
    const file = str(input.filePath) ?? str(input.path) ?? '?';
    return { kind: 'edit', tool: name, path: file, status, summary: oneLine(`${name} ${file}${status === 'failed' ? ' (failed)' : ''}`) };
  }
  if (name === 'bash') {
    const command = oneLine(input.command);
    return { kind: 'command', tool: name, command, status, summary: oneLine(`$ ${command}${status === 'failed' ? ' (failed)' : ''}`) };
  }
  return { kind: 'tool', tool: name, status, summary: oneLine(`${name} ${str(input.filePath) ?? str(input.pattern) ?? str(state.title) ?? ''}`) };
}

/** One `opencode run --format json` object → events (types: step_start, text, tool_use, step_finish, error). */
function handleOpencode(o: Record<string, unknown>, st: ParserState): AgentEvent[] {
  const part = isObj(o.part) ? o.part : {};
  switch (o.type) {
    case 'text':
      if (!str(part.text)?.trim()) return [];
      st.outcome.finalMessage = oneLine(part.text);
      return [{ kind: 'message', summary: oneLine(part.text) }];
    case 'tool_use':
      return [toolEvent(part)];
    case 'step_finish': {
      const t = isObj(part.tokens) ? part.tokens : {};
      const cache = isObj(t.cache) ? t.cache : {};
      st.usage.inputTokens += num(t.input) + num(cache.write); // `input` excludes cache reads
      st.usage.cachedTokens += num(cache.read);
      st.usage.outputTokens += num(t.output) + num(t.reasoning);
      st.scratch.cost = num(st.scratch.cost) + num(part.cost);
      st.scratch.steps = num(st.scratch.steps) + 1;
      return [usageEvent(st.usage, `step (${str(part.reason) ?? '?'})`)];
    }
    case 'error': {
      const err = isObj(o.error) ? o.error : {};
      const data = isObj(err.data) ? err.data : {};
      st.outcome.isError = true;
      st.outcome.errorText = oneLine(data.message ?? err.name ?? 'error');
      st.outcome.errorCode = str(err.name) ?? null;
      if (typeof data.statusCode === 'number') st.outcome.httpStatus = data.statusCode;
      return [{ kind: 'error', source: 'agent', summary: oneLine(`${err.name ?? 'error'}: ${data.message ?? ''}`) }];
    }
    default:
      return []; // step_start, reasoning, …
  }
}

/** Parser for `opencode run --format json` stdout. opencode has no final event: end() emits the result. */
export function createOpencodeParser(): AgentStreamParser {
  return createStreamParser('opencode', handleOpencode, (st: ParserState) => {
    const cost = num(st.scratch.cost);
    const tokens = st.usage.inputTokens + st.usage.outputTokens + st.usage.cachedTokens;
    // opencode prices tokens from the model's configured/models.dev cost; 0 with tokens = no price known.
    if (cost > 0 || tokens === 0) Object.assign(st.usage, { costUsd: cost, costReported: true });
    else Object.assign(st.usage, { costUsd: null, costReported: false, note: 'opencode reported cost 0: no price is known for the model' });
    if (num(st.scratch.steps) === 0 && !st.outcome.isError) return [];
    st.outcome.finished = true;
    const failed = st.outcome.isError;
    return [{ kind: 'result', status: failed ? 'failed' : 'ok', summary: oneLine(`${failed ? 'failed' : 'done'}: ${st.outcome.errorText ?? st.outcome.finalMessage ?? ''}`), usage: { ...st.usage } }];
  });
}

/** opencode adapter. Needs `sh` and `opencode` in the sandbox; the key via envKeys (name in apiKeyEnv with baseUrl). */
export function createOpencodeAgent(config: OpencodeAgentConfig, deps: AgentDeps): CliAgent {
  const log = deps.logger.child({ agent: 'opencode' });
  const version = versionProber(['opencode', '--version']);
  return {
    kind: 'opencode',
    requiredTools: () => ['sh', 'opencode'],
    async run(args) {
      await checkPromptFile(args);
      const home = await freshAgentHome(args, 'opencode');
      const env = { ...pickEnv(config.envKeys, deps.env, log), ...opencodeEnv(home.sandbox, config) };
      const ver = await version(args.sandbox, env, args.signal);
      const argv = withPromptFromFile(sandboxPath(args, args.promptPath), opencodeArgv(config));
      return runCli(args, { kind: 'opencode', argv, env, parser: createOpencodeParser(), model: config.model ?? null, version: ver, timeoutMs: attemptTimeoutMs(args, config) }, log);
    },
  };
}
