/**
 * CLI coding agents: the adapter for a config's kind (see config.ts for the proposed schema).
 */
import type { AgentDeps } from '../command.ts';
import { createClaudeAgent } from './claude.ts';
import { createCodexAgent } from './codex.ts';
import type { CliAgent } from './common.ts';
import type { CliAgentConfig } from './config.ts';
import { createGeminiAgent } from './gemini.ts';
import { createOpencodeAgent } from './opencode.ts';

export type { CliAgent, CliRunArgs, CliRunResult } from './common.ts';
export type { CliAgentConfig } from './config.ts';
export type { AgentEvent, AgentUsage, CliAgentKind } from './events.ts';
export type { FailureClass, FailureVerdict } from './classify.ts';

/** Build the adapter for a CLI agent config. `deps.env` is read only for the names in envKeys. */
export function createCliAgent(config: CliAgentConfig, deps: AgentDeps): CliAgent {
  switch (config.kind) {
    case 'claude':
      return createClaudeAgent(config, deps);
    case 'codex':
      return createCodexAgent(config, deps);
    case 'gemini':
      return createGeminiAgent(config, deps);
    case 'opencode':
      return createOpencodeAgent(config, deps);
  }
}
