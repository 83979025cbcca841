/**
 * Shapes the REST API returns that are not domain types. They mirror the server's zod
 * schemas (src/server/rest/schemas.ts) by hand because the client may only import src/domain
 * (it must bundle for the browser without server code); the OpenAPI document is the contract.
 */
import type { ProjectStatus } from '../domain/status.ts';

export type { ProjectStatus, ProjectState, Command, TaskCounts } from '../domain/status.ts';
export type { ProjectConfig, AgentConfig, SandboxConfig } from '../domain/projectConfig.ts';
export type { Envelope, EnvelopeType, ClientMessage } from '../domain/envelope.ts';

export interface ProjectList {
  items: ProjectStatus[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export interface TaskRun {
  id: string;
  taskId: string;
  attempt: number;
  state: string;
  startedAt: string;
  finishedAt: string | null;
  promptSha256: string | null;
  verify: Record<string, unknown> | null;
  agent: Record<string, unknown> | null;
  artifacts: string[];
  outcome: string | null;
}

export interface Artifact {
  text: string;
  /** Size of the file on the server; larger than `text` when the server capped it. */
  size: number | null;
  truncated: boolean;
}

/** What initialize did: a new project (201), the same config again, or a replaced config. */
export interface InitializeResult {
  created: boolean;
  /** The server's `devteam-initialize` header (`created`, `unchanged`, `replaced` …) when present. */
  outcome: string | null;
  status: ProjectStatus;
}

/** The result of pause/resume/stop/retry/skip. */
export interface CommandResult {
  status: ProjectStatus;
  /** True when the command changed nothing (PAUSE while paused, STOP while stopped). */
  noop: boolean;
  /** True for STOP answered 202: cleanup still running when the server stopped waiting. */
  pending: boolean;
}

export interface IngestEvent {
  /** Client-chosen id; the server de-duplicates by it. */
  id?: string;
  type: string;
  projectId: string;
  payload: unknown;
}

export interface IngestResult {
  id: string;
  correlationId: string;
  dispatch: 'queued' | 'deferred';
}

export interface Ready {
  ok: boolean;
  checks: { database: string; redis: string; [k: string]: string };
}

/** Per-request options of every POST. */
export interface PostOptions {
  /** Sent as `Idempotency-Key`; the same key with the same body replays the first response. */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

/** Options of a control command. */
export interface CommandOptions extends PostOptions {
  /**
   * RETRY / SKIP only: the halted task it is for (team mode). Required when several tasks are
   * halted — the server answers 400 with `choices` (the halted task ids) otherwise.
   */
  taskId?: string;
}
