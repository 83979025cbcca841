/**
 * Agent factory: the project's AgentConfig → the adapter that runs one attempt.
 */
import type { AgentConfig } from '../../domain/projectConfig.ts';
import { createAiderAgent } from './aider.ts';
import { createCommandAgent, type AgentDeps } from './command.ts';
import { createScriptAgent } from './script.ts';
import type { Agent } from './types.ts';

export type { AgentDeps } from './command.ts';
export { AgentError } from './types.ts';
export type { Agent, AgentRunArgs, AgentRunResult } from './types.ts';

/**
 * Build the agent for a project. `deps.env` is the runner's environment: agents copy only
 * the variable names listed in their config's envKeys from it, never the whole thing.
 * Throws AgentError('bad_template') for a command template with unknown placeholders.
 */
export function createAgent(config: AgentConfig, deps: AgentDeps): Agent {
  switch (config.kind) {
    case 'aider':
      return createAiderAgent(config, deps);
    case 'command':
      return createCommandAgent(config, deps);
    case 'script':
      return createScriptAgent(config, deps);
  }
}
