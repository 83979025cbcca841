/**
 * The project configuration: the body of POST /api/devteam/automation/initialize,
 * stored as project.config (jsonb). Strict: unknown keys are rejected.
 */
import * as z from 'zod';
import { isValidGitRefName } from './gitRefs.ts';

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
    argv: z
      .array(z.string())
      .min(1)
      .refine((a) => a[0] !== '', { error: 'argv[0] (the program) must not be empty' })
      .refine((a) => a.every((arg) => [...arg.matchAll(/(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].every((m) => m[1] === 'promptFile' || m[1] === 'workdir')), {
        error: 'uses an unknown placeholder (known: {promptFile}, {workdir})',
      }),
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
    url: z.string().min(1).max(2048).refine(isRepoUrlShape, { error: 'must be an http(s) URL without embedded credentials' }),
    branch: z
      .string()
      .min(1)
      .max(255)
      .refine(isValidGitRefName, { error: 'must be a valid git branch name (the rules of git check-ref-format --branch)' }),
    tokenEnv: envName.optional(),
  }),
  taskList: z.strictObject({ path: repoPath }).optional(),
  outcomesLog: z.strictObject({ path: repoPath }).optional(),
  verify: z.strictObject({ command: z.array(z.string()).min(1), timeoutSec: timeoutSec.optional() }),
  agent: agentConfigSchema,
  sandbox: sandboxConfigSchema.optional(),
  /** Tasks in flight at once (1–16, default 1: one task at a time). Tasks whose declared paths overlap never run together. */
  parallelism: z.number().int().min(1).max(16).optional(),
  git: z
    .strictObject({
      authorName: z.string().min(1).max(200).refine((v) => !/[<>\n\r\0]/.test(v), { error: 'must not contain <, >, NUL or line breaks' }).optional(),
      authorEmail: z.string().min(3).max(200).refine((v) => !/[<>\s\0]/.test(v), { error: 'must not contain <, >, NUL or white space' }).optional(),
    })
    .optional(),
});
export type ProjectConfig = z.infer<typeof projectConfigSchema>;

/** http(s), parseable, a host, no user:password@ part (the token comes from tokenEnv). */
function isRepoUrlShape(url: string): boolean {
  try {
    const u = new URL(url);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !!u.hostname && !u.username && !u.password;
  } catch {
    return false;
  }
}

export const DEFAULT_TASK_LIST_PATH = 'ai_docs/tasks/tasks_list.md';
export const DEFAULT_OUTCOMES_LOG_PATH = 'ai_docs/tasks/task_outcomes.md';
export const DEFAULT_AUTHOR = { name: 'DevTeam Runner', email: 'devteam-runner@localhost' };
