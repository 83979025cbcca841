/**
 * The infra adapters one project's steps use, built from its stored config: git workspace,
 * sandbox (kind fixed at initialize), agent, artifact store and secret redactor.
 */
import { join } from 'node:path';
import { DEFAULT_AUTHOR, projectConfigSchema, type ProjectConfig } from '../../domain/projectConfig.ts';
import type { Config } from '../../infra/config.ts';
import { createAgent } from '../../infra/agents/index.ts';
import type { Agent } from '../../infra/agents/types.ts';
import { createGitWorkspace } from '../../infra/git/index.ts';
import type { GitWorkspace } from '../../infra/git/types.ts';
import type { Logger } from '../../infra/logger.ts';
import { createDockerSandbox } from '../../infra/sandbox/docker.ts';
import { createLocalSandbox } from '../../infra/sandbox/local.ts';
import type { Sandbox } from '../../infra/sandbox/types.ts';
import { ProjectConfigError } from '../errors.ts';
import { createArtifactStore, createRedactor, type ArtifactStore } from './artifacts.ts';

export interface ProjectAdapters {
  config: ProjectConfig;
  git: GitWorkspace;
  sandbox: Sandbox;
  agent: Agent;
  artifacts: ArtifactStore;
  redact(text: string): string;
  /** Set when the project's tokenEnv names a variable that is not set. */
  missingToken: string | null;
}

export { ProjectConfigError } from '../errors.ts';

export function createProjectAdapters(
  raw: Record<string, unknown>,
  o: { config: Config; logger: Logger; env?: Record<string, string | undefined> },
): ProjectAdapters {
  const parsed = projectConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ProjectConfigError(`stored project config is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const config = parsed.data;
  const env = o.env ?? process.env;
  const token = config.repo.tokenEnv ? env[config.repo.tokenEnv] : undefined;
  const secrets = [token, ...keysOf(config).map((k) => env[k])];
  const redact = createRedactor(secrets);
  const logger = o.logger;
  const git = createGitWorkspace({
    dataDir: o.config.DEVTEAM_DATA_DIR,
    projectId: config.projectId,
    url: config.repo.url,
    branch: config.repo.branch,
    token: token || undefined,
    author: { name: config.git?.authorName ?? DEFAULT_AUTHOR.name, email: config.git?.authorEmail ?? DEFAULT_AUTHOR.email },
    logger,
    allowPrivateHosts: o.config.allowPrivateRepos,
  });
  const kind = config.sandbox?.kind ?? 'local';
  const sandboxOpts = {
    kind,
    projectId: config.projectId,
    workspaceDir: join(o.config.DEVTEAM_DATA_DIR, 'repos', config.projectId),
    config: config.sandbox,
    defaultImage: o.config.DEVTEAM_SANDBOX_IMAGE,
    logger,
  } as const;
  const sandbox = kind === 'docker' ? createDockerSandbox(sandboxOpts) : createLocalSandbox(sandboxOpts);
  const agent = createAgent(config.agent, { env, logger });
  return {
    config,
    git,
    sandbox,
    agent,
    artifacts: createArtifactStore(o.config.DEVTEAM_DATA_DIR, config.projectId, redact),
    redact,
    missingToken: config.repo.tokenEnv && !token ? config.repo.tokenEnv : null,
  };
}

function keysOf(c: ProjectConfig): string[] {
  return c.agent.kind === 'script' ? [] : (c.agent.envKeys ?? []);
}
