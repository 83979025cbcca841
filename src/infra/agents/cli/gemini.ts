/**
 * Gemini CLI (`@google/gemini-cli`, binary `gemini`) as a headless coding agent: one
 * `gemini --prompt … --output-format stream-json` run per attempt.
 *
 * Sources (pinned 0.61.0): `gemini --help`, and the docs shipped in the package
 * (`node_modules/@google/gemini-cli/bundle/docs/`, also https://geminicli.com/docs/):
 *   headless mode + stream-json events: docs/cli/headless.md
 *   settings.json keys and env vars:    docs/reference/configuration.md
 *   policy engine (deny rules):         docs/reference/policy-engine.md
 *
 * Gemini CLI loads `.env` files from the workspace (and `.gemini/.env`, never filtered) and
 * the workspace `.gemini/settings.json`: a repository could redirect the endpoint. We list
 * the endpoint/credential variables in `advanced.excludedEnvVars` and warn when such files
 * exist; use Gemini CLI on trusted repositories or restrict the sandbox's egress.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { attemptTimeoutMs, hostWorkspace, pickEnv, sandboxPath, type AgentDeps } from '../command.ts';
import { checkPromptFile, freshAgentHome, PROMPT_MARK, runCli, versionProber, withPromptFromFile, type CliAgent } from './common.ts';
import type { GeminiAgentConfig } from './config.ts';
import { createStreamParser, isObj, num, oneLine, str, usageEvent, type AgentEvent, type AgentStreamParser, type ParserState } from './events.ts';

const EDIT_TOOLS = new Set(['write_file', 'replace', 'edit']);
const SHELL_TOOLS = new Set(['run_shell_command']);
/** Variables a workspace .env must not set (docs/reference/configuration.md, advanced.excludedEnvVars). */
const EXCLUDED_ENV = [
  'DEBUG', 'DEBUG_MODE', 'GEMINI_API_KEY', 'GOOGLE_API_KEY', 'GOOGLE_GEMINI_BASE_URL', 'GOOGLE_VERTEX_BASE_URL',
  'GOOGLE_GENAI_USE_VERTEXAI', 'GOOGLE_GENAI_USE_GCA', 'GOOGLE_CLOUD_PROJECT', 'GOOGLE_APPLICATION_CREDENTIALS',
  'GEMINI_CLI_HOME', 'HTTPS_PROXY', 'HTTP_PROXY', 'https_proxy', 'http_proxy', 'NODE_OPTIONS',
];
/** Workspace files Gemini CLI reads despite our settings (see the file comment). */
const WORKSPACE_FILES = ['.env', '.gemini/.env', '.gemini/settings.json'];

/** The argv of one run; the prompt is the value of `--prompt=` (docs/cli/headless.md, `gemini --help`). */
export function geminiArgv(config: Pick<GeminiAgentConfig, 'model' | 'args'>): string[] {
  return [
    'gemini',
    '--output-format', 'stream-json', // JSONL events: init, message, tool_use, tool_result, error, result
    '--approval-mode', 'yolo', // auto-approve all tools (edits + shell); the policy file still denies git commit/push
    ...(config.model ? ['--model', config.model] : []),
    ...(config.args ?? []),
    `--prompt=${PROMPT_MARK}`, // headless mode; the `=` form keeps a prompt starting with '-' a value
  ];
}

/**
 * User settings for the run (docs/reference/configuration.md): API-key auth (needed in
 * headless mode; GOOGLE_GEMINI_BASE_URL alone selects the interactive-only "gateway" auth),
 * secret env redaction for tools, no usage statistics, no auto-update, telemetry off,
 * bounded API retries.
 */
export function geminiSettings(config: Pick<GeminiAgentConfig, 'maxRetries'>): Record<string, unknown> {
  return {
    // Redact secret-looking variables (…KEY…, …TOKEN…) from the env of tools/shell commands.
    security: { auth: { selectedType: 'gemini-api-key' }, environmentVariableRedaction: { enabled: true } },
    privacy: { usageStatisticsEnabled: false },
    general: {
      enableAutoUpdate: false,
      enableAutoUpdateNotification: false,
      ...(config.maxRetries !== undefined ? { maxAttempts: Math.min(10, config.maxRetries + 1) } : {}),
    },
    telemetry: { enabled: false },
    advanced: { excludedEnvVars: EXCLUDED_ENV },
  };
}

/** Policy rules (docs/reference/policy-engine.md): the runner commits, the agent must not. */
export const GEMINI_POLICY_TOML = [
  '# Written by DevTeam Runner before every Gemini CLI run.',
  ...['git commit', 'git push'].flatMap((prefix) => ['[[rule]]', 'toolName = "run_shell_command"', `commandPrefix = "${prefix}"`, 'decision = "deny"', 'priority = 900', '']),
].join('\n');

/** The environment the adapter sets (env vars: docs/reference/configuration.md). */
export function geminiEnv(home: string, config: Pick<GeminiAgentConfig, 'baseUrl'>): Record<string, string> {
  return {
    HOME: home,
    GEMINI_CLI_HOME: home, // user config + state in <home>/.gemini, never the user's ~/.gemini
    TMPDIR: path.posix.join(home, 'tmp'), // Gemini writes error reports to the OS temp dir
    GEMINI_TELEMETRY_ENABLED: 'false',
    // 0.61 enables folder trust: headless runs in an untrusted folder exit 55 ("not running in a
    // trusted directory"). Trusting also loads the workspace .env/.gemini settings (see above).
    GEMINI_CLI_TRUST_WORKSPACE: 'true',
    ...(config.baseUrl ? { GOOGLE_GEMINI_BASE_URL: config.baseUrl } : {}),
  };
}

function toolEvent(name: string, p: Record<string, unknown>): AgentEvent {
  if (EDIT_TOOLS.has(name)) {
    const file = str(p.file_path) ?? str(p.absolute_path) ?? '?';
    return { kind: 'edit', tool: name, path: file, status: 'started', summary: oneLine(`${name} ${file}`) };
  }
  if (SHELL_TOOLS.has(name)) {
    const command = oneLine(p.command);
    return { kind: 'command', tool: name, command, status: 'started', summary: oneLine(`$ ${command}`) };
  }
  return { kind: 'tool', tool: name, status: 'started', summary: oneLine(`${name} ${str(p.file_path) ?? str(p.dir_path) ?? str(p.pattern) ?? ''}`) };
}

/** Assistant text arrives in delta chunks: emit it as one message when something else happens. */
function flushText(st: ParserState): AgentEvent[] {
  const text = (st.scratch.text as string | undefined) ?? '';
  st.scratch.text = '';
  if (!text.trim()) return [];
  st.outcome.finalMessage = oneLine(text);
  return [{ kind: 'message', summary: oneLine(text) }];
}

/** One stream-json object → events (event types: docs/cli/headless.md). */
function handleGemini(o: Record<string, unknown>, st: ParserState): AgentEvent[] {
  if (o.type === 'message') {
    if (o.role === 'assistant') st.scratch.text = `${(st.scratch.text as string | undefined) ?? ''}${str(o.content) ?? ''}`;
    return [];
  }
  const out = flushText(st);
  switch (o.type) {
    case 'tool_use':
      out.push(toolEvent(str(o.tool_name) ?? '?', isObj(o.parameters) ? o.parameters : {}));
      break;
    case 'tool_result':
      if (o.status === 'error') out.push({ kind: 'tool', status: 'failed', summary: oneLine(`tool failed: ${isObj(o.error) ? o.error.message : (o.output ?? '')}`) });
      break;
    case 'error':
      out.push({ kind: 'error', source: 'agent', summary: oneLine(o.message ?? o.error) });
      break;
    case 'result': {
      const s = isObj(o.stats) ? o.stats : {};
      // input_tokens = whole prompt incl. cached; `input` = the uncached part.
      st.usage.cachedTokens = num(s.cached);
      st.usage.inputTokens = typeof s.input === 'number' ? s.input : num(s.input_tokens) - num(s.cached);
      st.usage.outputTokens = num(s.output_tokens);
      st.usage.note = 'Gemini CLI reports tokens but no cost';
      st.outcome.finished = true;
      st.outcome.isError = o.status !== 'success';
      if (st.outcome.isError) {
        const err = isObj(o.error) ? o.error : {};
        st.outcome.errorText = oneLine(err.message ?? o.status);
        st.outcome.errorCode = str(err.type) ?? null;
        const m = /"code":\s*(\d{3})|\b(4\d\d|5\d\d)\b/.exec(String(err.message ?? ''));
        if (m) st.outcome.httpStatus = Number(m[1] ?? m[2]);
      }
      out.push(usageEvent(st.usage), { kind: 'result', status: st.outcome.isError ? 'failed' : 'ok', summary: oneLine(`${st.outcome.isError ? 'failed' : 'done'}: ${st.outcome.errorText ?? st.outcome.finalMessage ?? ''}`), usage: { ...st.usage } });
      break;
    }
  }
  return out;
}

/** Parser for `gemini --output-format stream-json` stdout. */
export function createGeminiParser(): AgentStreamParser {
  return createStreamParser('gemini', handleGemini, flushText);
}

/** Gemini CLI adapter. Needs `sh` and `gemini` (Node 20+) in the sandbox; key via envKeys (GEMINI_API_KEY). */
export function createGeminiAgent(config: GeminiAgentConfig, deps: AgentDeps): CliAgent {
  const log = deps.logger.child({ agent: 'gemini' });
  const version = versionProber(['gemini', '--version']);
  return {
    kind: 'gemini',
    requiredTools: () => ['sh', 'gemini'],
    async run(args) {
      await checkPromptFile(args);
      const home = await freshAgentHome(args, 'gemini');
      const dotGemini = path.join(home.host, '.gemini');
      await mkdir(path.join(dotGemini, 'policies'), { recursive: true });
      await writeFile(path.join(dotGemini, 'settings.json'), `${JSON.stringify(geminiSettings(config), null, 2)}\n`);
      await writeFile(path.join(dotGemini, 'policies', 'devteam.toml'), GEMINI_POLICY_TOML);
      const ws = hostWorkspace(args);
      const present = (await Promise.all(WORKSPACE_FILES.map((f) => stat(path.join(ws, f)).then(() => f, () => null)))).filter(Boolean);
      if (present.length > 0) log.warn({ files: present }, 'repository has .env/.gemini files that Gemini CLI reads');
      const env = { ...pickEnv(config.envKeys, deps.env, log), ...geminiEnv(home.sandbox, config) };
      const ver = await version(args.sandbox, env, args.signal);
      const argv = withPromptFromFile(sandboxPath(args, args.promptPath), geminiArgv(config));
      return runCli(args, { kind: 'gemini', argv, env, parser: createGeminiParser(), model: config.model ?? null, version: ver, timeoutMs: attemptTimeoutMs(args, config) }, log);
    },
  };
}
