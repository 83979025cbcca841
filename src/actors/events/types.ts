/**
 * Shapes shared by the event pipeline: what is stored, what travels on the queue, and the
 * contract between the worker (policy: dedupe, routing, poison) and a transport (mechanics:
 * Redis Stream consumer group, or an in-process queue when REDIS_URL is unset).
 */

export type { EventStatus, IngestInput } from '../../infra/db/eventRepository.ts';

export type DispatchResult = 'queued' | 'deferred';

export interface IngestResult {
  id: string;
  correlationId: string;
  dispatch: DispatchResult;
  /** True when the id was already stored: nothing new was written or dispatched. */
  duplicate: boolean;
}

/** One queue entry (the Redis Stream fields). The payload stays in Postgres. */
export interface QueueMessage {
  id: string;
  correlationId: string;
  projectId: string;
  type: string;
  /** Epoch ms when it was put on the queue (queue latency = consumed − enqueuedAt). */
  enqueuedAt: number;
}

export interface Delivery {
  msg: QueueMessage;
  /** How many times the queue has handed this entry out, this one included. */
  deliveries: number;
}

/** What the transport does with an entry after the worker handled it. */
export type Verdict = 'ack' | 'retry' | 'dead';

export type DeliveryHandler = (batch: Delivery[]) => Promise<Verdict[]>;

export interface Transport {
  readonly kind: 'redis' | 'memory';
  /** False while the queue is known to be unreachable (the relay then waits). */
  readonly available: boolean;
  /** Put entries on the queue; false when the queue is unreachable (the outbox keeps them). */
  enqueue(msgs: QueueMessage[]): Promise<boolean>;
  /**
   * Start consuming (and reclaiming stalled entries); idempotent. `settled` is called with each
   * batch once its verdicts have been carried out (acked, dead-lettered or left pending).
   */
  start(handler: DeliveryHandler, settled?: (batch: Delivery[]) => void): void;
  /** Called with a function to run when the queue becomes reachable again (relay trigger). */
  onAvailable(fn: () => void): void;
  close(): Promise<void>;
}

/** Event status in the `event` table. */
