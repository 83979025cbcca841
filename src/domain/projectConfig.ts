/**
 * The project configuration: the body of POST /api/devteam/automation/initialize,
 * stored as project.config (jsonb). Strict: unknown keys are rejected.
 */
import { z } from 'zod';

export const PROJECT_ID_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' });
const timeoutSec = z.number().int().min(1).max(24 * 3600);

export const agentConfigSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('aider'),
    model: z.string().min(1).optional(),
    args: z.array(z.string()).optional(),
    envKeys: z.array(envName).optional(),
    timeoutSec: timeoutSec.optional(),
  }),
  z.strictObject({
    kind: z.literal('command'),
    argv: z.array(z.string()).min(1),
    envKeys: z.array(envName).optional(),
    timeoutSec: timeoutSec.optional(),
  }),
  z.strictObject({ kind: z.literal('script'), timeoutSec: timeoutSec.optional() }),
]);
export type AgentConfig = z.infer<typeof agentConfigSchema>;

export const sandboxConfigSchema = z.strictObject({
  kind: z.enum(['docker', 'local']).optional(),
  image: z.string().min(1).optional(),
  network: z.string().min(1).optional(),
  cpus: z.number().positive().max(64).optional(),
  memoryMb: z.number().int().min(32).max(1024 * 1024).optional(),
  pids: z.number().int().min(16).max(1_000_000).optional(),
});
export type SandboxConfig = z.infer<typeof sandboxConfigSchema>;

const repoPath = z
  .string()
  .min(1)
  .max(512)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), { error: 'must be a relative path inside the repository' });

export const projectConfigSchema = z.strictObject({
  projectId: z.string().regex(PROJECT_ID_RE, { error: 'must match ^[a-z0-9][a-z0-9-]{0,62}$' }),
  repo: z.strictObject({
    url: z.string().min(1).max(2048),
    branch: z.string().min(1).max(255),
    tokenEnv: envName.optional(),
  }),
  taskList: z.strictObject({ path: repoPath }).optional(),
  outcomesLog: z.strictObject({ path: repoPath }).optional(),
  verify: z.strictObject({ command: z.array(z.string()).min(1), timeoutSec: timeoutSec.optional() }),
  agent: agentConfigSchema,
  sandbox: sandboxConfigSchema.optional(),
  git: z
    .strictObject({ authorName: z.string().min(1).optional(), authorEmail: z.string().min(3).optional() })
    .optional(),
});
export type ProjectConfig = z.infer<typeof projectConfigSchema>;

export const DEFAULT_TASK_LIST_PATH = 'ai_docs/tasks/tasks_list.md';
export const DEFAULT_OUTCOMES_LOG_PATH = 'ai_docs/tasks/task_outcomes.md';
export const DEFAULT_AUTHOR = { name: 'DevTeam Runner', email: 'devteam-runner@localhost' };
