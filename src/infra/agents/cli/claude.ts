/**
 * Claude Code (`@anthropic-ai/claude-code`, binary `claude`) as a headless coding agent:
 * one `claude -p` run per attempt in the task's worktree, streaming `stream-json` events.
 *
 * Sources (pinned 2.1.332): `claude --help` of the installed binary, and
 *   CLI:      https://code.claude.com/docs/en/cli-reference
 *   headless: https://code.claude.com/docs/en/headless
 *   env vars: https://code.claude.com/docs/en/env-vars
 *   settings/permissions: https://code.claude.com/docs/en/settings, https://code.claude.com/docs/en/iam
 *
 * Permissions for a disposable sandbox WITHOUT --dangerously-skip-permissions (which Claude
 * Code refuses under root, the usual container user): `acceptEdits` lets it create and edit
 * files in the working directory, `--allowedTools Bash` lets it run shell commands, deny
 * rules keep `git commit`/`git push` out (the runner commits), and with
 * `--permission-prompts none` anything else that would ask is denied instead of hanging.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AgentDeps } from '../command.ts';
import { attemptTimeoutMs, pickEnv, sandboxPath } from '../command.ts';
import type { ClaudeAgentConfig } from './config.ts';
import { checkPromptFile, freshAgentHome, PROMPT_MARK, runCli, versionProber, withPromptFromFile, type CliAgent } from './common.ts';
import {
  createStreamParser, isObj, num, oneLine, str, usageEvent,
  type AgentEvent, type AgentStreamParser, type ParserState,
} from './events.ts';

/** Claude Code tools that change files (tool names per https://code.claude.com/docs/en/settings#tools-available-to-claude). */
const EDIT_TOOLS = new Set(['Write', 'Edit', 'MultiEdit', 'NotebookEdit']);
const SHELL_TOOLS = new Set(['Bash', 'PowerShell']);

/**
 * The argv of one run, ending with `--` and the prompt mark (see withPromptFromFile).
 * Every flag is listed in `claude --help` (2.1.332) and the CLI reference above.
 */
export function claudeArgv(config: Pick<ClaudeAgentConfig, 'model' | 'args'>): string[] {
  return [
    'claude',
    '-p', // non-interactive: print the response and exit (also skips the workspace-trust dialog)
    '--output-format', 'stream-json', // one JSON event per line, as it happens
    '--verbose', // required with -p --output-format stream-json (else Claude Code refuses)
    '--permission-mode', 'acceptEdits', // file edits in the working dir without prompts
    '--allowedTools', 'Bash', // shell commands without prompts
    '--disallowedTools', 'Bash(git commit:*)', 'Bash(git push:*)', // deny rules win over allow rules: the runner commits
    '--permission-prompts', 'none', // nobody answers prompts: whatever would ask is denied
    '--setting-sources', 'user', // ignore the repo's .claude/settings*.json (env, hooks, permissions); "user" = our empty per-run dir
    '--strict-mcp-config', // ignore the repo's .mcp.json (no MCP servers)
    '--no-session-persistence', // do not save the session to disk
    ...(config.model ? ['--model', config.model] : []),
    ...(config.args ?? []),
    '--', // the prompt is an operand even if it starts with '-'
    PROMPT_MARK,
  ];
}

/**
 * The environment the adapter sets (merged over the envKeys picked from the runner env).
 * Every variable is on https://code.claude.com/docs/en/env-vars except where noted.
 */
export function claudeEnv(home: string, config: Pick<ClaudeAgentConfig, 'baseUrl' | 'maxRetries'>): Record<string, string> {
  return {
    HOME: home,
    CLAUDE_CONFIG_DIR: home, // settings, credentials cache, ~/.claude.json state: per-run, never the user's
    TMPDIR: path.posix.join(home, 'tmp'),
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', // = DISABLE_AUTOUPDATER + DISABLE_BUG_COMMAND + DISABLE_ERROR_REPORTING + DISABLE_TELEMETRY
    DISABLE_AUTOUPDATER: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    // Not set: CLAUDE_CODE_SUBPROCESS_ENV_SCRUB=1 (strip credentials from the Bash tool's env)
    // makes 2.1.332 refuse to start without bubblewrap ("bubblewrap is required for subprocess
    // env scrubbing"). Commands the agent runs can therefore read the API key from their env.
    ...(config.baseUrl ? { ANTHROPIC_BASE_URL: config.baseUrl } : {}),
    ...(config.maxRetries !== undefined ? { CLAUDE_CODE_MAX_RETRIES: String(config.maxRetries) } : {}),
  };
}

function toolEvent(name: string, input: Record<string, unknown>): AgentEvent {
  if (EDIT_TOOLS.has(name)) {
    const file = str(input.file_path) ?? str(input.notebook_path) ?? '?';
    return { kind: 'edit', tool: name, path: file, status: 'started', summary: oneLine(`${name} ${file}`) };
  }
  if (SHELL_TOOLS.has(name)) {
    const command = oneLine(input.command);
    return { kind: 'command', tool: name, command, status: 'started', summary: oneLine(`$ ${command}`) };
  }
  const arg = str(input.file_path) ?? str(input.pattern) ?? str(input.path) ?? str(input.description) ?? str(input.url) ?? '';
  return { kind: 'tool', tool: name, status: 'started', summary: oneLine(`${name} ${arg}`) };
}

/** One stream-json object → events. Shapes: https://code.claude.com/docs/en/headless (and fixtures). */
function handleClaude(o: Record<string, unknown>, st: ParserState): AgentEvent[] {
  const out: AgentEvent[] = [];
  switch (o.type) {
    case 'system':
      if (o.subtype === 'api_retry') {
        st.outcome.httpStatus = typeof o.error_status === 'number' ? o.error_status : st.outcome.httpStatus;
        out.push({ kind: 'error', source: 'agent', summary: oneLine(`API retry ${num(o.attempt)}/${num(o.max_retries)}: HTTP ${o.error_status ?? '?'} ${o.error ?? ''}`) });
      }
      return out;
    case 'assistant': {
      const msg = isObj(o.message) ? o.message : {};
      const content = Array.isArray(msg.content) ? msg.content : [];
      if (typeof o.error === 'string') {
        // A synthetic message carrying an API failure (observed: authentication_failed, model_not_found, rate_limit, …).
        const text = content.map((b) => (isObj(b) ? str(b.text) ?? '' : '')).join(' ');
        st.outcome.errorCode = o.error;
        st.outcome.errorText = oneLine(text || o.error);
        if (typeof o.api_error_status === 'number') st.outcome.httpStatus = o.api_error_status;
        out.push({ kind: 'error', source: 'agent', summary: oneLine(`${o.error}: ${text}`) });
        return out;
      }
      if (isObj(msg.usage)) {
        // Fallback only (the final `result` has the authoritative totals): message_start usage, output not final.
        const fb = (st.scratch.fallback ??= { input: 0, cached: 0 }) as { input: number; cached: number };
        fb.input += num(msg.usage.input_tokens) + num(msg.usage.cache_creation_input_tokens);
        fb.cached += num(msg.usage.cache_read_input_tokens);
      }
      for (const b of content) {
        if (!isObj(b)) continue;
        if (b.type === 'text' && str(b.text)?.trim()) out.push({ kind: 'message', summary: oneLine(b.text) });
        if (b.type === 'tool_use') out.push(toolEvent(str(b.name) ?? '?', isObj(b.input) ? b.input : {}));
      }
      return out;
    }
    case 'user': {
      const content = isObj(o.message) && Array.isArray(o.message.content) ? o.message.content : [];
      for (const b of content) {
        if (isObj(b) && b.type === 'tool_result' && b.is_error === true) {
          const text = typeof b.content === 'string' ? b.content : JSON.stringify(b.content ?? '');
          out.push({ kind: 'tool', status: 'failed', summary: oneLine(`tool failed: ${text}`) });
        }
      }
      return out;
    }
    case 'result':
      return handleResult(o, st);
    default:
      return out; // rate_limit_event, stream_event, hook events, …: not progress we report
  }
}

function handleResult(o: Record<string, unknown>, st: ParserState): AgentEvent[] {
  const u = isObj(o.usage) ? o.usage : {};
  st.usage.inputTokens = num(u.input_tokens) + num(u.cache_creation_input_tokens);
  st.usage.cachedTokens = num(u.cache_read_input_tokens);
  st.usage.outputTokens = num(u.output_tokens);
  // costBasis 'unknown' = "no pricing row matched the model, so costUSD is a guess at the
  // default model's rate" (claude.exe 2.1.332 SDK schema): we never report a guessed price.
  const models = isObj(o.modelUsage) ? Object.values(o.modelUsage).filter(isObj) : [];
  const guessed = models.filter((m) => m.costBasis === 'unknown').length;
  if (typeof o.total_cost_usd === 'number' && guessed === 0) {
    st.usage.costUsd = o.total_cost_usd;
    st.usage.costReported = true;
  } else {
    st.usage.costUsd = null;
    st.usage.costReported = false;
    st.usage.note = guessed > 0 ? 'Claude Code had no price for the model (costBasis "unknown"): its cost figure is a guess and is ignored' : 'Claude Code reported no cost';
  }
  st.outcome.finished = true;
  st.outcome.isError = o.is_error === true || (typeof o.subtype === 'string' && o.subtype !== 'success');
  if (typeof o.api_error_status === 'number') st.outcome.httpStatus = o.api_error_status;
  const text = oneLine(o.result ?? (Array.isArray(o.errors) ? o.errors.join('; ') : ''));
  if (st.outcome.isError) {
    st.outcome.errorText ??= text || String(o.subtype);
    if (typeof o.subtype === 'string' && o.subtype !== 'success') st.outcome.errorCode ??= o.subtype;
  } else st.outcome.finalMessage = text;
  return [
    usageEvent(st.usage),
    { kind: 'result', status: st.outcome.isError ? 'failed' : 'ok', summary: oneLine(`${st.outcome.isError ? 'failed' : 'done'} after ${num(o.num_turns)} turns: ${text}`), usage: { ...st.usage } },
  ];
}

/** Parser for `claude -p --output-format stream-json --verbose` stdout. */
export function createClaudeParser(): AgentStreamParser {
  return createStreamParser('claude', handleClaude, (st) => {
    const fb = st.scratch.fallback as { input: number; cached: number } | undefined;
    if (st.outcome.finished || !fb) return [];
    // No `result` (killed, crashed): input totals from the per-message usage; output is unknown.
    st.usage.inputTokens = fb.input;
    st.usage.cachedTokens = fb.cached;
    st.usage.note = 'no result event: input tokens summed from messages, output tokens unknown';
    return [usageEvent(st.usage, 'partial usage')];
  });
}

/** Claude Code adapter. Needs `sh` and `claude` in the sandbox; the key comes via envKeys (ANTHROPIC_API_KEY). */
export function createClaudeAgent(config: ClaudeAgentConfig, deps: AgentDeps): CliAgent {
  const log = deps.logger.child({ agent: 'claude' });
  const version = versionProber(['claude', '--version']);
  return {
    kind: 'claude',
    requiredTools: () => ['sh', 'claude'],
    async run(args) {
      await checkPromptFile(args);
      const home = await freshAgentHome(args, 'claude');
      // An empty user settings file: `--setting-sources user` then loads nothing from the repo.
      await writeFile(path.join(home.host, 'settings.json'), '{}\n');
      const env = { ...pickEnv(config.envKeys, deps.env, log), ...claudeEnv(home.sandbox, config) };
      const ver = await version(args.sandbox, env, args.signal);
      const argv = withPromptFromFile(sandboxPath(args, args.promptPath), claudeArgv(config));
      return runCli(args, { kind: 'claude', argv, env, parser: createClaudeParser(), model: config.model ?? null, version: ver, timeoutMs: attemptTimeoutMs(args, config) }, log);
    },
  };
}
