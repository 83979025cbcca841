/**
 * The domain's failure families that callers (REST, events, the CLI's server side) map to their
 * own terms — the server's one error map (src/server/http/errors.ts) turns each into HTTP.
 */

/** The project does not exist (404). */
export class ProjectNotFoundError extends Error {
  override name = 'ProjectNotFoundError';
  constructor(readonly projectId: string) {
    super(`project ${projectId} not found`);
  }
}

/** A project config that cannot be stored or built (invalid stored config, bad agent template, …) (400). */
export class ProjectConfigError extends Error {
  override name = 'ProjectConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Multi-node: no node applied a write for the project in time; it stays queued for the owner (503, retry). */
export class OwnerUnavailableError extends Error {
  override name = 'OwnerUnavailableError';
  constructor(
    readonly projectId: string,
    readonly operation: string,
  ) {
    super(`no node applied ${operation} for ${projectId} in time; it stays queued for the shard's owner`);
  }
}

/**
 * The project is not hosted by this node any more: its shard was released, or its writes were
 * fenced by a newer owner, so a command could not take effect (or its effect could not be made
 * durable) here. Nothing was recorded; the command belongs to the current owner (503, retry).
 */
export class HostGoneError extends Error {
  override name = 'HostGoneError';
  constructor(readonly projectId: string) {
    super(`project ${projectId} is not hosted on this node now (released or fenced); retry: its owner applies the command`);
  }
}

/** RETRY / SKIP while several tasks are halted: the caller must name one (400 with the choices). */
export class TaskChoiceError extends Error {
  override name = 'TaskChoiceError';
  constructor(
    readonly command: string,
    readonly choices: string[],
  ) {
    super(`${command} needs a taskId naming one of the halted tasks: ${choices.join(', ')}`);
  }
}
