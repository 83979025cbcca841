/**
 * The CLI agents' stream parsers, usage extraction and failure classification, on
 * (1) real output recorded from the pinned binaries against the scripted model
 *     (test/fixtures/agents, see its README and recordings.json),
 * (2) the documented event shapes, and (3) malformed / truncated / split lines.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classifyRun, type FailureClass } from '../../src/infra/agents/cli/classify.ts';
import { claudeArgv, claudeEnv, createClaudeParser } from '../../src/infra/agents/cli/claude.ts';
import { codexArgv, codexConfigToml, codexEnv, createCodexParser } from '../../src/infra/agents/cli/codex.ts';
import { PROMPT_MARK, withPromptFromFile } from '../../src/infra/agents/cli/common.ts';
import type { AgentEvent, AgentStreamParser, CliAgentKind } from '../../src/infra/agents/cli/events.ts';
import { SUMMARY_MAX } from '../../src/infra/agents/cli/events.ts';
import { createGeminiParser, geminiArgv, geminiEnv, geminiSettings } from '../../src/infra/agents/cli/gemini.ts';
import { createOpencodeParser, opencodeArgv, opencodeConfig, opencodeEnv } from '../../src/infra/agents/cli/opencode.ts';
import { DEFAULT_MAX_LINE_CHARS } from '../../src/infra/sandbox/lines.ts';

const FIX = new URL('../fixtures/agents/', import.meta.url);
const PARSERS: Record<CliAgentKind, () => AgentStreamParser> = { claude: createClaudeParser, codex: createCodexParser, gemini: createGeminiParser, opencode: createOpencodeParser };
const AGENTS = Object.keys(PARSERS) as CliAgentKind[];

interface Recording {
  exitCode: number | null;
  endpointUsageMain: { inputTokens: number; outputTokens: number; cachedTokens: number };
  stderrTail: string[];
}
const recordings = JSON.parse(readFileSync(new URL('recordings.json', FIX), 'utf8')) as Record<string, Recording>;

function parseAll(kind: CliAgentKind, lines: string[]): { parser: AgentStreamParser; events: AgentEvent[] } {
  const parser = PARSERS[kind]();
  const events = lines.flatMap((l) => parser.push(l));
  events.push(...parser.end());
  return { parser, events };
}
const fixtureLines = (name: string): string[] => readFileSync(new URL(`${name}.jsonl`, FIX), 'utf8').split('\n');
const classifyRecording = (kind: CliAgentKind, name: string, parser: AgentStreamParser, events: AgentEvent[]) =>
  classifyRun(kind, {
    exitCode: recordings[name].exitCode, timedOut: false, aborted: false, outcome: parser.outcome(),
    agentErrors: events.filter((e) => e.kind === 'error' && e.source === 'agent').map((e) => e.summary),
    stderrTail: recordings[name].stderrTail.join('\n'),
  });

describe.each(AGENTS)('%s: recorded real output', (kind) => {
  it('edit scenario: edit + denied commit command + final message + usage equal to what the endpoint reported', () => {
    const name = `${kind}-edit`;
    const { parser, events } = parseAll(kind, fixtureLines(name));
    expect(parser.stats.malformed).toBe(0);
    const edits = events.filter((e) => e.kind === 'edit');
    expect(edits.map((e) => e.path?.endsWith('/hello.txt'))).toContain(true);
    const commits = events.filter((e) => e.kind === 'command' && /git commit/.test(e.command ?? ''));
    expect(commits.length).toBeGreaterThan(0);
    expect(events.some((e) => e.kind === 'message' && e.summary.includes('committing is left to the runner'))).toBe(true);
    expect(events.some((e) => e.kind === 'result' && e.status === 'ok')).toBe(true);
    for (const e of events) expect(e.summary.length).toBeLessThanOrEqual(SUMMARY_MAX);
    for (const e of events) expect(e.summary).not.toMatch(/\n/);

    const usage = parser.usage();
    const reported = recordings[name].endpointUsageMain;
    expect(reported.inputTokens).toBeGreaterThan(0);
    expect({ inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, cachedTokens: usage.cachedTokens }).toEqual(reported);
    expect(classifyRecording(kind, name, parser, events).class).toBe('ok');
  });

  it('cost: reported only where the agent prices the model itself', () => {
    const usage = parseAll(kind, fixtureLines(`${kind}-edit`)).parser.usage();
    if (kind === 'claude') {
      // claude-sonnet-4-5 has a built-in list price (costBasis "list").
      expect(usage.costReported).toBe(true);
      expect(usage.costUsd).toBeGreaterThan(0);
    } else {
      expect(usage).toMatchObject({ costUsd: null, costReported: false });
      expect(usage.note).toMatch(/no cost|no price/);
    }
  });

  const table: [string, FailureClass, string][] = [
    ['error-auth', 'permanent', 'auth'],
    ['error-unknown-model', 'permanent', 'unknown_model'],
    ['error-quota', 'permanent', 'quota'],
    ['error-rate-limit', 'transient', 'rate_limit'],
    ['error-overloaded', 'transient', 'overloaded'],
  ];
  it.each(table)('%s is classified %s (%s)', (scenario, cls, reason) => {
    const name = `${kind}-${scenario}`;
    const { parser, events } = parseAll(kind, fixtureLines(name));
    expect(parser.stats.malformed).toBe(0);
    expect(recordings[name].exitCode).not.toBe(0);
    expect(parser.outcome().isError).toBe(true);
    expect(classifyRecording(kind, name, parser, events)).toMatchObject({ class: cls, reason });
  });
});

describe('documented event shapes', () => {
  it('claude: result with total_cost_usd and usage (https://code.claude.com/docs/en/headless); a guessed price (costBasis unknown) is not reported', () => {
    const line = (basis: string) => JSON.stringify({
      type: 'result', subtype: 'success', is_error: false, num_turns: 2, result: 'ok', total_cost_usd: 0.0123,
      usage: { input_tokens: 10, cache_creation_input_tokens: 5, cache_read_input_tokens: 7, output_tokens: 3 },
      modelUsage: { m: { costUSD: 0.0123, costBasis: basis } },
    });
    const listed = parseAll('claude', [line('list')]).parser.usage();
    expect(listed).toMatchObject({ inputTokens: 15, cachedTokens: 7, outputTokens: 3, costUsd: 0.0123, costReported: true });
    const guessed = parseAll('claude', [line('unknown')]).parser.usage();
    expect(guessed).toMatchObject({ inputTokens: 15, costUsd: null, costReported: false });
    expect(guessed.note).toMatch(/guess/);
  });

  it('claude: tool_use blocks map to edit / command / tool', () => {
    const msg = (block: object) => JSON.stringify({ type: 'assistant', message: { content: [block], usage: { input_tokens: 1 } } });
    const { events } = parseAll('claude', [
      msg({ type: 'tool_use', name: 'Edit', input: { file_path: '/w/a.ts', old_string: 'a', new_string: 'b' } }),
      msg({ type: 'tool_use', name: 'Bash', input: { command: 'npm test' } }),
      msg({ type: 'tool_use', name: 'Grep', input: { pattern: 'TODO' } }),
    ]);
    expect(events.map((e) => [e.kind, e.tool])).toEqual([['edit', 'Edit'], ['command', 'Bash'], ['tool', 'Grep'], ['usage', undefined]]);
    expect(events[3].summary).toMatch(/partial usage/); // no result event: partial usage from the messages
  });

  it('codex: exec_events.rs items (command_execution, file_change, agent_message) and turn.completed usage', () => {
    const { parser, events } = parseAll('codex', [
      '{"type":"thread.started","thread_id":"t"}',
      '{"type":"item.completed","item":{"id":"1","type":"command_execution","command":"bash -lc ls","aggregated_output":"a","exit_code":0,"status":"completed"}}',
      '{"type":"item.completed","item":{"id":"2","type":"file_change","changes":[{"path":"src/a.ts","kind":"update"},{"path":"b.md","kind":"add"}],"status":"completed"}}',
      '{"type":"item.completed","item":{"id":"3","type":"agent_message","text":"All done"}}',
      '{"type":"turn.completed","usage":{"input_tokens":1200,"cached_input_tokens":200,"output_tokens":30}}',
    ]);
    expect(events.map((e) => e.kind)).toEqual(['command', 'edit', 'edit', 'message', 'usage', 'result']);
    expect(parser.usage()).toMatchObject({ inputTokens: 1000, cachedTokens: 200, outputTokens: 30, costUsd: null, costReported: false });
  });

  it('gemini: headless.md stream-json (init, message deltas, tool_use, tool_result, result)', () => {
    const { parser, events } = parseAll('gemini', [
      '{"type":"init","session_id":"s","model":"gemini-2.5-pro"}',
      '{"type":"message","role":"assistant","content":"Let me ","delta":true}',
      '{"type":"message","role":"assistant","content":"fix it.","delta":true}',
      '{"type":"tool_use","tool_name":"replace","tool_id":"1","parameters":{"file_path":"/w/a.ts","old_string":"a","new_string":"b"}}',
      '{"type":"tool_result","tool_id":"1","status":"success"}',
      '{"type":"result","status":"success","stats":{"input_tokens":500,"cached":100,"input":400,"output_tokens":20}}',
    ]);
    expect(events.map((e) => e.kind)).toEqual(['message', 'edit', 'usage', 'result']);
    expect(events[0].summary).toBe('Let me fix it.');
    expect(parser.usage()).toMatchObject({ inputTokens: 400, cachedTokens: 100, outputTokens: 20, costUsd: null });
  });

  it('opencode: run --format json (tool_use, text, step_finish with tokens and cost)', () => {
    const finish = (cost: number) => JSON.stringify({ type: 'step_finish', part: { reason: 'stop', tokens: { input: 100, output: 10, reasoning: 5, cache: { read: 50, write: 20 } }, cost } });
    const lines = [
      '{"type":"tool_use","part":{"tool":"edit","state":{"status":"completed","input":{"filePath":"/w/a.ts"}}}}',
      '{"type":"tool_use","part":{"tool":"bash","state":{"status":"error","input":{"command":"npm test"}}}}',
      '{"type":"text","part":{"text":"Done"}}',
    ];
    const priced = parseAll('opencode', [...lines, finish(0.25)]);
    expect(priced.events.map((e) => [e.kind, e.status ?? null])).toEqual([['edit', 'ok'], ['command', 'failed'], ['message', null], ['usage', null], ['result', 'ok']]);
    expect(priced.parser.usage()).toMatchObject({ inputTokens: 120, cachedTokens: 50, outputTokens: 15, costUsd: 0.25, costReported: true });
    expect(parseAll('opencode', [...lines, finish(0)]).parser.usage()).toMatchObject({ costUsd: null, costReported: false });
  });
});

describe.each(AGENTS)('%s: malformed input never throws', (kind) => {
  const valid = fixtureLines(`${kind}-edit`).filter(Boolean);
  it('truncated, non-JSON, non-object and oddly shaped lines give parser error events; parsing continues', () => {
    const cut = valid[valid.length - 1].slice(0, 40); // a truncated last event
    const junk = [cut, 'plain text on stdout', '[1,2,3]', 'null', '"a string"', '{"type":"result","usage":"weird","stats":7,"part":[],"item":null}', '{"type":42}', ''];
    const parser = PARSERS[kind]();
    const events: AgentEvent[] = [];
    expect(() => {
      for (const l of junk) events.push(...parser.push(l));
      for (const l of valid) events.push(...parser.push(l));
      events.push(...parser.end());
    }).not.toThrow();
    const parseErrors = events.filter((e) => e.kind === 'error' && e.source === 'parser');
    expect(parseErrors).toHaveLength(5);
    expect(parseErrors[0].summary).toMatch(new RegExp(`^${kind}: unparseable output line \\(40 chars, `));
    expect(parser.stats.malformed).toBe(5);
    expect(events.some((e) => e.kind === 'edit')).toBe(true); // the valid lines after the junk still parse
  });

  it('a JSON line longer than the sandbox line cap arrives split and is re-joined', () => {
    const big = JSON.stringify({ type: 'no-such-event', padding: 'x'.repeat(DEFAULT_MAX_LINE_CHARS * 2 + 123) });
    const pieces = [big.slice(0, DEFAULT_MAX_LINE_CHARS), big.slice(DEFAULT_MAX_LINE_CHARS, 2 * DEFAULT_MAX_LINE_CHARS), big.slice(2 * DEFAULT_MAX_LINE_CHARS)];
    const { parser, events } = parseAll(kind, [...pieces, ...valid]);
    expect(parser.stats.malformed).toBe(0);
    expect(parser.stats.objects).toBe(valid.length + 1);
    expect(events.some((e) => e.kind === 'result')).toBe(true);
  });
});

describe('classification table', () => {
  const outcome = { finished: true, isError: true, errorText: null as string | null, httpStatus: null as number | null, errorCode: null as string | null, finalMessage: null };
  const run = (kind: CliAgentKind, over: Partial<typeof outcome> & { exitCode?: number | null; timedOut?: boolean; stderr?: string; errors?: string[] }) =>
    classifyRun(kind, { exitCode: over.exitCode ?? 1, timedOut: over.timedOut ?? false, aborted: false, outcome: { ...outcome, ...over }, agentErrors: over.errors ?? [], stderrTail: over.stderr ?? '' });
  it.each<[string, CliAgentKind, Partial<typeof outcome> & { exitCode?: number | null; timedOut?: boolean; stderr?: string; errors?: string[] }, FailureClass, string]>([
    ['ok run', 'codex', { isError: false, exitCode: 0 }, 'ok', 'ok'],
    ['claude structured code', 'claude', { errorCode: 'authentication_failed', errorText: 'Invalid API key' }, 'permanent', 'auth'],
    ['claude max turns', 'claude', { errorCode: 'error_max_turns' }, 'attempt', 'max_turns'],
    ['OpenAI 429 insufficient_quota is permanent, not a rate limit', 'opencode', { errorText: 'You exceeded your current quota, please check your plan and billing details.', httpStatus: 429 }, 'permanent', 'quota'],
    ['Gemini "check quota" 429 is a rate limit', 'gemini', { errorText: '[API Error: Resource has been exhausted (e.g. check quota).]' }, 'transient', 'rate_limit'],
    ['Anthropic context overflow → retry with feedback', 'claude', { errorText: 'prompt is too long: 210000 tokens > 200000 maximum' }, 'attempt', 'context_overflow'],
    ['OpenAI context_length_exceeded', 'codex', { errorText: "This model's maximum context length is 128000 tokens" }, 'attempt', 'context_overflow'],
    ['network failure while retrying', 'codex', { errorText: null, errors: ['Reconnecting... waiting for network (Connection failed: error sending request)'], timedOut: true, exitCode: null }, 'transient', 'network'],
    ['HTTP status only', 'opencode', { errorText: 'something odd', httpStatus: 529 }, 'transient', 'overloaded'],
    ['stderr evidence only', 'gemini', { errorText: null, isError: false, stderr: 'Error: connect ECONNREFUSED 127.0.0.1:443' }, 'transient', 'network'],
    ['timeout without evidence', 'claude', { isError: false, exitCode: null, timedOut: true }, 'attempt', 'timeout'],
    ['agent gave up', 'gemini', { errorText: 'I could not complete the task' }, 'attempt', 'agent_error'],
    ['crash with a non-zero exit and no report', 'opencode', { isError: false, finished: false, exitCode: 2, stderr: 'panic: boom' }, 'attempt', 'exit_code'],
  ])('%s', (_title, kind, over, cls, reason) => {
    expect(run(kind, over)).toMatchObject({ class: cls, reason });
  });
});

describe('argv / env builders (pure)', () => {
  const home = '/ws/.git/devteam/agent-home/x';
  it('every agent gets the prompt as one marked operand at the end, after `--` or as `--prompt=`', () => {
    for (const argv of [claudeArgv({}), codexArgv('/ws', {}), opencodeArgv({})]) expect(argv.slice(-2)).toEqual(['--', PROMPT_MARK]);
    expect(geminiArgv({}).at(-1)).toBe(`--prompt=${PROMPT_MARK}`);
    // The wrapper passes the prompt FILE as a positional parameter; the script text is constant.
    const wrapped = withPromptFromFile('/ws/.git/devteam/prompt.md', claudeArgv({ model: 'm' }));
    expect(wrapped.slice(0, 2)).toEqual(['sh', '-c']);
    expect(wrapped.slice(3, 5)).toEqual(['devteam-agent', '/ws/.git/devteam/prompt.md']);
    expect(wrapped[2]).not.toContain('prompt.md');
  });

  it('claude: headless stream-json, edits + shell allowed, commits denied, no permission bypass; config dir in the run home', () => {
    const argv = claudeArgv({ model: 'claude-x', args: ['--effort', 'low'] });
    expect(argv).toEqual(expect.arrayContaining(['-p', '--output-format', 'stream-json', '--verbose', 'acceptEdits', 'Bash', 'Bash(git commit:*)', '--no-session-persistence', 'claude-x', '--effort']));
    expect(argv.join(' ')).not.toMatch(/bypassPermissions|dangerously/);
    expect(claudeEnv(home, { baseUrl: 'http://127.0.0.1:9', maxRetries: 1 })).toMatchObject({ CLAUDE_CONFIG_DIR: home, HOME: home, ANTHROPIC_BASE_URL: 'http://127.0.0.1:9', CLAUDE_CODE_MAX_RETRIES: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' });
  });

  it('codex: JSONL, ephemeral, strict config, workspace-write; config.toml names the key variable, never a value', () => {
    expect(codexArgv('/ws', { model: 'gpt-5.5' })).toEqual(expect.arrayContaining(['exec', '--json', '--ephemeral', '--strict-config', 'workspace-write', '/ws', 'gpt-5.5']));
    const toml = codexConfigToml({ baseUrl: 'http://127.0.0.1:9/v1', apiKeyEnv: 'MY_KEY', maxRetries: 0 });
    expect(toml).toContain('model_provider = "devteam"');
    expect(toml).toContain('base_url = "http://127.0.0.1:9/v1"');
    expect(toml).toContain('env_key = "MY_KEY"');
    expect(toml).toContain('request_max_retries = 0');
    expect(toml.split('[shell_environment_policy]')[1]).toMatch(/exclude = \[.*"MY_KEY"\]/);
    expect(codexEnv(home)).toMatchObject({ CODEX_HOME: home, HOME: home });
  });

  it('gemini: yolo + stream-json; settings pick API-key auth, redact secrets, exclude endpoint vars from .env', () => {
    expect(geminiArgv({ model: 'gemini-x' })).toEqual(expect.arrayContaining(['--output-format', 'stream-json', '--approval-mode', 'yolo', 'gemini-x']));
    const s = geminiSettings({ maxRetries: 0 }) as { security: { auth: { selectedType: string } }; general: { maxAttempts: number }; advanced: { excludedEnvVars: string[] } };
    expect(s.security.auth.selectedType).toBe('gemini-api-key');
    expect(s.general.maxAttempts).toBe(1);
    expect(s.advanced.excludedEnvVars).toEqual(expect.arrayContaining(['GOOGLE_GEMINI_BASE_URL', 'GEMINI_API_KEY']));
    expect(geminiEnv(home, { baseUrl: 'http://127.0.0.1:9' })).toMatchObject({ GEMINI_CLI_HOME: home, GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:9', GEMINI_CLI_TRUST_WORKSPACE: 'true' });
  });

  it('opencode: provider/model ref, inline config with {env:NAME} key reference and git commit denied', () => {
    const cfg = { model: 'coder', baseUrl: 'http://127.0.0.1:9/v1', apiKeyEnv: 'MY_KEY' };
    expect(opencodeArgv(cfg)).toEqual(expect.arrayContaining(['run', '--format', 'json', '--model', 'devteam/coder']));
    const c = opencodeConfig(cfg) as { provider: { devteam: { options: { apiKey: string } } }; permission: { bash: Record<string, string> } };
    expect(c.provider.devteam.options.apiKey).toBe('{env:MY_KEY}');
    expect(c.permission.bash['git commit*']).toBe('deny');
    const env = opencodeEnv(home, cfg);
    expect(env).toMatchObject({ HOME: home, XDG_CONFIG_HOME: `${home}/config`, XDG_DATA_HOME: `${home}/data`, OPENCODE_DISABLE_PROJECT_CONFIG: '1' });
    expect(JSON.parse(env.OPENCODE_CONFIG_CONTENT)).toEqual(c);
  });
});
