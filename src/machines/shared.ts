/** Helpers both statecharts (project coordinator and task) use. Pure: xstate only. */
import { fromPromise } from 'xstate';

/** A slot the host must provide; running it unprovided is an error, not a silent no-op. */
export const notProvided = <O, I>(name: string) =>
  fromPromise<O, I>(async () => {
    throw new Error(`actor slot ${name} not provided`);
  });

/** A step's failure as one line for `lastError`: the Error's message, a string, or its JSON. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}
