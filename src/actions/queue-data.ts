import { Redis } from 'ioredis';
import { redisTlsOptions, type RedisTls } from '../runtime/redis.js';
import { checkActionJob, type ActionJob } from './jobs.js';

/** What a BullMQ job of the actions queue holds: the action, and who enqueued it (duplicate detection). */
export interface QueuedActionData {
  readonly action: ActionJob;
  /** Random per enqueue call: the stored value tells whether this call created the job. */
  readonly enqueue_id: string;
  readonly enqueued_at_ms: number;
  readonly idempotency_key?: string;
}

export type QueuedActionCheck = { readonly ok: true; readonly data: QueuedActionData } | { readonly ok: false; readonly problem: string };

/** Narrows a job's data read back from Redis (it may come from an older or foreign writer). */
export function checkQueuedAction(data: unknown): QueuedActionCheck {
  if (typeof data !== 'object' || data === null) return { ok: false, problem: 'job data is not an object' };
  const record = data as Record<string, unknown>;
  const action = checkActionJob(record.action);
  if (!action.ok) return { ok: false, problem: `job data: action: ${action.problem}` };
  const enqueueId = typeof record.enqueue_id === 'string' ? record.enqueue_id : '';
  const enqueuedAtMs = typeof record.enqueued_at_ms === 'number' ? record.enqueued_at_ms : 0;
  const key = typeof record.idempotency_key === 'string' ? record.idempotency_key : undefined;
  return { ok: true, data: { action: action.job, enqueue_id: enqueueId, enqueued_at_ms: enqueuedAtMs, ...(key === undefined ? {} : { idempotency_key: key }) } };
}

/**
 * An ioredis connection for BullMQ. BullMQ's workers block (BZPOPMIN) and must not give up on a
 * command while Redis is away: `maxRetriesPerRequest: null` is what BullMQ requires for them.
 */
export function createBullmqConnection(url: string, tls: RedisTls | undefined, name: string): Redis {
  const client = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 5000),
    ...redisTlsOptions(tls),
  });
  // BullMQ reports connection errors through the Queue/Worker 'error' event; this keeps ioredis quiet.
  client.on('error', () => undefined);
  return client;
}

export async function closeConnection(client: Redis): Promise<void> {
  await client.quit().catch(() => client.disconnect());
}
