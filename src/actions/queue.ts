import { randomUUID } from 'node:crypto';
import { Queue, type Job, type JobType } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { FortistreamError, errorMessage } from '../errors.js';
import { redactUrls, type RedisTls } from '../runtime/redis.js';
import { createActionKeys } from '../state/keys.js';
import { actionJobId, actionScope, actionTarget, checkActionJob, type ActionJob } from './jobs.js';
import { checkQueuedAction, closeConnection, createBullmqConnection, type QueuedActionData } from './queue-data.js';
import type { ActionsSettings, DevicesSettings } from './settings.js';

export interface ActionQueueOptions {
  /** Where the queue lives (unused when `connection` is given). */
  readonly redisUrl?: string | undefined;
  /** TLS material for rediss:// (from loadRedisTls). */
  readonly redisTls?: RedisTls | undefined;
  /** The pipeline's key prefix; BullMQ's keys go under `<prefix>{bull}`. */
  readonly prefix: string;
  readonly settings: ActionsSettings;
  readonly devices: DevicesSettings;
  /**
   * An existing client to use instead of a new connection (not closed by `close`). Commands pass
   * theirs, whose bounded retries make them fail fast when Redis is away; long-lived producers omit it.
   */
  readonly connection?: Redis | undefined;
  /** Connection errors are logged here (BullMQ reconnects by itself). */
  readonly logger?: Logger | undefined;
}

export interface EnqueueOptions {
  /**
   * What makes this request distinct from an identical one (e.g. `counter|key|window start`, a revoke
   * id). Same job + same key = same job id: a duplicate while that job is kept.
   */
  readonly idempotencyKey?: string;
}

export interface EnqueueResult {
  readonly jobId: string;
  /** True when a job with this id already existed (pending, running, failed or recently completed). */
  readonly duplicate: boolean;
}

export type ActionJobState = 'waiting' | 'active' | 'delayed' | 'failed' | 'completed';
const STATES: readonly ActionJobState[] = ['active', 'waiting', 'delayed', 'failed', 'completed'];

export interface ActionJobSummary {
  readonly id: string;
  readonly type: string;
  /** Device name, or `webhook:<name>`. */
  readonly scope: string;
  readonly target: string;
  readonly state: ActionJobState | 'unknown';
  /** Tries made so far (BullMQ attemptsMade: a job that succeeded on its third try shows 3). */
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly lastError?: string | undefined;
  readonly reason?: string | undefined;
  readonly createdMs: number;
  readonly finishedMs?: number | undefined;
}

export interface ActionQueue {
  enqueue(job: ActionJob, options?: EnqueueOptions): Promise<EnqueueResult>;
  /** Kept jobs, newest first (`states` default: all). */
  list(options?: { states?: readonly ActionJobState[]; limit?: number }): Promise<ActionJobSummary[]>;
  /** Puts a failed job back to waiting with its attempts reset; FST_ACTION_NOT_RETRYABLE otherwise. */
  retry(jobId: string): Promise<ActionJobSummary>;
  /** Jobs per state (queue depth gauge). */
  counts(): Promise<Record<ActionJobState, number>>;
  readonly queueName: string;
  close(): Promise<void>;
}

/** Refuses a job the runner could never carry out (unknown device/webhook, bad address …). */
export function validateForQueue(job: ActionJob, settings: ActionsSettings, devices: DevicesSettings): ActionJob {
  const check = checkActionJob(job);
  if (!check.ok) throw new FortistreamError('FST_ACTION_INVALID', `${String((job as { type?: unknown }).type)} job: ${check.problem}`);
  const valid = check.job;
  if (valid.type === 'webhook') {
    if (settings.webhooks[valid.webhook] === undefined) {
      throw new FortistreamError('FST_ACTION_INVALID', `webhook job: unknown webhook "${valid.webhook}" (declare it under actions.webhooks)`);
    }
  } else if (devices[valid.device] === undefined) {
    throw new FortistreamError('FST_ACTION_INVALID', `${valid.type} job: unknown device "${valid.device}" (declare it under devices)`);
  }
  return valid;
}

export function createActionQueue(options: ActionQueueOptions): ActionQueue {
  const { settings, devices } = options;
  const ownConnection = options.connection === undefined;
  if (options.connection === undefined && options.redisUrl === undefined) throw new Error('createActionQueue needs redisUrl or connection');
  const connection = options.connection ?? createBullmqConnection(options.redisUrl ?? '', options.redisTls, 'fortistream-actions-queue');
  const queue = new Queue<unknown>(settings.queue, {
    connection,
    prefix: createActionKeys(options.prefix).bullmqPrefix,
    defaultJobOptions: {
      attempts: settings.attempts,
      backoff: { type: 'exponential', delay: settings.backoff_initial_ms },
      // 0 means "keep none": say so explicitly rather than rely on how BullMQ reads a zero limit.
      removeOnComplete: settings.keep_completed_seconds === 0 ? true : { age: settings.keep_completed_seconds },
      removeOnFail: settings.keep_failed === 0 ? true : { count: settings.keep_failed },
    },
  });
  queue.on('error', (error) => options.logger?.warn({ err: redactUrls(errorMessage(error)) }, 'actions queue: Redis error (BullMQ retries)'));

  async function enqueue(job: ActionJob, enqueueOptions: EnqueueOptions = {}): Promise<EnqueueResult> {
    const valid = validateForQueue(job, settings, devices);
    const jobId = actionJobId(valid, enqueueOptions.idempotencyKey);
    const data: QueuedActionData = {
      action: valid,
      enqueue_id: randomUUID(),
      enqueued_at_ms: Date.now(),
      ...(enqueueOptions.idempotencyKey === undefined ? {} : { idempotency_key: enqueueOptions.idempotencyKey }),
    };
    // BullMQ's add is atomic and returns the same id whether it created the job or found one: the
    // stored enqueue_id says which (exactly one of a burst of identical enqueues created it).
    await queue.add(valid.type, data, { jobId });
    const stored = await queue.getJob(jobId);
    const storedData = stored === undefined ? undefined : checkQueuedAction(stored.data);
    const duplicate = storedData !== undefined && (!storedData.ok || storedData.data.enqueue_id !== data.enqueue_id);
    return { jobId, duplicate };
  }

  async function summarize(job: Job<unknown>, state: ActionJobState | 'unknown'): Promise<ActionJobSummary> {
    const parsed = checkQueuedAction(job.data);
    const action = parsed.ok ? parsed.data.action : undefined;
    return {
      id: job.id ?? '',
      type: action?.type ?? job.name,
      scope: action === undefined ? '?' : actionScope(action),
      target: action === undefined ? '?' : actionTarget(action),
      state,
      attempts: job.attemptsMade,
      maxAttempts: job.opts.attempts ?? 1,
      lastError: job.failedReason || (parsed.ok ? undefined : parsed.problem),
      reason: action !== undefined && 'reason' in action ? action.reason : undefined,
      createdMs: job.timestamp,
      finishedMs: job.finishedOn ?? undefined,
    };
  }

  async function list(listOptions: { states?: readonly ActionJobState[]; limit?: number } = {}): Promise<ActionJobSummary[]> {
    const limit = listOptions.limit ?? 100;
    const summaries: ActionJobSummary[] = [];
    for (const state of listOptions.states ?? STATES) {
      const type: JobType = state === 'waiting' ? 'wait' : state;
      const jobs = await queue.getJobs([type], 0, limit - 1, false);
      for (const job of jobs) summaries.push(await summarize(job, state));
    }
    summaries.sort((a, b) => (b.finishedMs ?? b.createdMs) - (a.finishedMs ?? a.createdMs));
    return summaries.slice(0, limit);
  }

  async function retry(jobId: string): Promise<ActionJobSummary> {
    const job = await queue.getJob(jobId);
    if (job === undefined) {
      throw new FortistreamError('FST_ACTION_NOT_RETRYABLE', `no job ${jobId} in queue ${settings.queue} (failed jobs beyond actions.keep_failed are removed)`);
    }
    const state = await job.getState();
    if (state !== 'failed') {
      throw new FortistreamError('FST_ACTION_NOT_RETRYABLE', `job ${jobId} is ${state}, not failed: only failed jobs can be retried`);
    }
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    return summarize(job, 'waiting');
  }

  async function counts(): Promise<Record<ActionJobState, number>> {
    const raw = await queue.getJobCounts('wait', 'active', 'delayed', 'failed', 'completed');
    return { waiting: raw.wait ?? 0, active: raw.active ?? 0, delayed: raw.delayed ?? 0, failed: raw.failed ?? 0, completed: raw.completed ?? 0 };
  }

  return {
    enqueue,
    list,
    retry,
    counts,
    queueName: settings.queue,
    async close() {
      await queue.close();
      if (ownConnection) await closeConnection(connection);
    },
  };
}
