/**
 * Project-config schemas of the CLI coding agents — a PROPOSAL to merge into
 * `agentConfigSchema` (src/domain/projectConfig.ts), e.g.
 *   z.discriminatedUnion('kind', [ ...existing, ...cliAgentConfigSchemas ])
 * Kept here (a new file) so the agent work does not conflict with the config refactor.
 *
 * Common fields:
 * - model: the agent's model name (Claude `--model`, Codex `-m`, Gemini `--model`, opencode
 *   `--model provider/model`; with baseUrl, opencode's provider prefix is added for you).
 * - baseUrl: a custom API endpoint (gateway, proxy, or the scripted test model). Claude:
 *   ANTHROPIC_BASE_URL; Codex: a custom Responses-API provider; Gemini: GOOGLE_GEMINI_BASE_URL;
 *   opencode: an OpenAI-compatible (Chat Completions) provider.
 * - envKeys: names of runner env variables passed to the agent (API keys, PATH). Values are
 *   secrets: never logged, never put in argv or in files.
 * - apiKeyEnv (codex, opencode, with baseUrl): which of envKeys holds the endpoint's key.
 * - maxRetries: the agent's own API retries (Claude CLAUDE_CODE_MAX_RETRIES, Codex
 *   request/stream_max_retries, Gemini general.maxAttempts − 1); opencode has no such knob.
 * - timeoutSec, args: as for aider (args are appended to the agent's argv, before the prompt).
 */
import { z } from 'zod';

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' });
const timeoutSec = z.number().int().min(1).max(24 * 3600);
const common = {
  model: z.string().min(1).optional(),
  baseUrl: z.url({ protocol: /^https?$/ }).optional(),
  envKeys: z.array(envName).optional(),
  timeoutSec: timeoutSec.optional(),
  args: z.array(z.string()).optional(),
  maxRetries: z.number().int().min(0).max(10).optional(),
};

export const claudeAgentConfigSchema = z.strictObject({ kind: z.literal('claude'), ...common });
export const codexAgentConfigSchema = z.strictObject({
  kind: z.literal('codex'),
  ...common,
  apiKeyEnv: envName.optional(),
  /** Codex's own command sandbox: workspace-write (default; needs user namespaces for its bundled bwrap) or none. */
  sandboxMode: z.enum(['workspace-write', 'danger-full-access']).optional(),
});
export const geminiAgentConfigSchema = z.strictObject({ kind: z.literal('gemini'), ...common });
export const opencodeAgentConfigSchema = z.strictObject({ kind: z.literal('opencode'), ...common, apiKeyEnv: envName.optional() });

export const cliAgentConfigSchemas = [claudeAgentConfigSchema, codexAgentConfigSchema, geminiAgentConfigSchema, opencodeAgentConfigSchema] as const;

export type ClaudeAgentConfig = z.infer<typeof claudeAgentConfigSchema>;
export type CodexAgentConfig = z.infer<typeof codexAgentConfigSchema>;
export type GeminiAgentConfig = z.infer<typeof geminiAgentConfigSchema>;
export type OpencodeAgentConfig = z.infer<typeof opencodeAgentConfigSchema>;
export type CliAgentConfig = ClaudeAgentConfig | CodexAgentConfig | GeminiAgentConfig | OpencodeAgentConfig;
