import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import { redactUrls, type RedisTls } from '../runtime/redis.js';
import { createActionKeys } from '../state/keys.js';
import { createActionAudit, type ActionAuditEntry, type ActionAuditSettings } from './audit.js';
import { loadEndpoints, type Endpoints } from './endpoints.js';
import { describeCallFailure, type CallRequest, type CallResult, type FortiosClient } from './fortios-client.js';
import { actionScope, actionTarget, fortiosRequestFor, type ActionJob } from './jobs.js';
import { actionMetrics, type ActionMetricOutcome } from './metrics.js';
import { createActionQueue } from './queue.js';
import { checkQueuedAction, closeConnection, createBullmqConnection } from './queue-data.js';
import { callIntervalMs, createDeviceRateLimiter } from './rate-limit.js';
import type { ActionsSettings, DevicesSettings } from './settings.js';

export interface ActionRunnerOptions {
  readonly redisUrl: string;
  readonly redisTls?: RedisTls | undefined;
  /** The pipeline's key prefix (BullMQ keys under `<prefix>{bull}`, rate markers under `<prefix>actions:`). */
  readonly prefix: string;
  readonly settings: ActionsSettings;
  readonly devices: DevicesSettings;
  /** Where outcomes are audited: the full stream key (what the session scripts write) and its cap. */
  readonly audit: ActionAuditSettings;
  /** The worker's ordinary client: audit XADDs and the per-device rate markers. */
  readonly redis: Redis;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
  /** Token variables (`token_env`); default process.env. */
  readonly env?: NodeJS.ProcessEnv | undefined;
}

export interface ActionRunner {
  /** Stops taking jobs, waits for the running ones, closes connections. */
  close(): Promise<void>;
}

/** HTTP answers worth another try: server errors, request timeout, rate limiting. */
function retryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

function backoffDelayMs(job: Job<unknown>, fallbackMs: number, failedAttempt: number): number {
  const backoff = job.opts.backoff;
  const initial = typeof backoff === 'number' ? backoff : (backoff?.delay ?? fallbackMs);
  return initial * 2 ** (failedAttempt - 1);
}

/**
 * Starts a BullMQ worker on the actions queue: each job becomes one FortiOS (or webhook) call.
 * 2xx: done. 4xx: failed at once (UnrecoverableError) with FortiOS's error. 5xx, 408, 429, timeouts
 * and connection errors: thrown, so BullMQ retries with exponential backoff until `attempts`.
 * Devices in dry-run are never called. Every outcome is audited.
 */
export async function startActionRunner(options: ActionRunnerOptions): Promise<ActionRunner> {
  const { settings, logger: parentLogger } = options;
  const logger = parentLogger.child({ component: 'actions' });
  const endpoints: Endpoints = await loadEndpoints(options.devices, settings.webhooks, { env: options.env, logger });
  const audit = createActionAudit(options.redis, options.audit);
  const limiter = createDeviceRateLimiter(options.redis, options.prefix);
  const metrics = options.metrics === undefined ? undefined : actionMetrics(options.metrics.registry);

  const count = (type: string, outcome: ActionMetricOutcome): void => metrics?.outcome(type, outcome);
  const record = async (entry: ActionAuditEntry): Promise<void> => {
    count(entry.action?.type ?? 'unknown', entry.outcome);
    try {
      await audit.write(entry);
    } catch (error) {
      // Never fail (and so repeat) a call that was made because its audit entry could not be written.
      logger.error({ job_id: entry.jobId, outcome: entry.outcome, err: redactUrls(errorMessage(error)) }, 'actions: audit entry could not be written');
    }
  };

  async function processJob(job: Job<unknown>, token?: string): Promise<unknown> {
    const jobId = job.id ?? '?';
    const attempt = job.attemptsMade + 1;
    const maxAttempts = job.opts.attempts ?? 1;
    const base = { jobId, attempt, maxAttempts };
    const parsed = checkQueuedAction(job.data);
    if (!parsed.ok) {
      await record({ ...base, outcome: 'failed', timeMs: Date.now(), message: parsed.problem });
      throw new UnrecoverableError(parsed.problem);
    }
    const action: ActionJob = parsed.data.action;
    const log = { job_id: jobId, type: action.type, scope: actionScope(action), target: actionTarget(action), attempt };
    const refuse = async (problem: string): Promise<never> => {
      await record({ ...base, action, outcome: 'failed', timeMs: Date.now(), message: problem });
      logger.error(log, `actions: ${problem}`);
      throw new UnrecoverableError(problem);
    };

    let client: FortiosClient;
    let request: CallRequest;
    if (action.type === 'webhook') {
      const webhook = endpoints.webhooks.get(action.webhook);
      if (webhook === undefined) return refuse(`webhook "${action.webhook}" is not configured (actions.webhooks)`);
      client = webhook.client;
      request = { method: 'POST', path: '', body: action.payload };
    } else {
      const device = endpoints.devices.get(action.device);
      if (device === undefined) return refuse(`device "${action.device}" is not configured (devices)`);
      client = device.client;
      const planned = fortiosRequestFor(action);
      request = planned;
      if (device.settings.dry_run) {
        const body = JSON.stringify(planned.body);
        await record({ ...base, action, outcome: 'dry_run', timeMs: Date.now(), request: `${planned.method} ${client.urlFor(planned.path)}`, requestBody: body });
        logger.info({ ...log, request: `${planned.method} ${client.urlFor(planned.path)}`, body }, 'actions: dry run, call not made');
        return { dry_run: true };
      }
      const waitMs = await limiter.take(action.device, device.settings.max_calls_per_second);
      if (waitMs > 0) {
        // Spread the wake-ups of jobs waiting for the same device over one interval.
        const jitter = Math.floor(Math.random() * callIntervalMs(device.settings.max_calls_per_second));
        await job.moveToDelayed(Date.now() + waitMs + jitter, token);
        count(action.type, 'rate_limited');
        throw new DelayedError();
      }
    }

    const result: CallResult = await client.call(request);
    const requestText = `${request.method} ${client.urlFor(request.path)}`;
    if (result.ok) {
      await record({ ...base, action, outcome: 'succeeded', timeMs: Date.now(), httpStatus: result.status, request: requestText });
      logger.info({ ...log, status: result.status }, 'actions: call succeeded');
      return { status: result.status };
    }
    const message = `${actionScope(action)}: ${describeCallFailure(result)}`;
    const httpStatus = result.kind === 'http' ? result.status : undefined;
    const fortiosError = result.kind === 'http' ? result.fortiosError : undefined;
    if (result.kind === 'http' && !retryableStatus(result.status)) {
      await record({ ...base, action, outcome: 'failed', timeMs: Date.now(), httpStatus, fortiosError, message, request: requestText });
      logger.error({ ...log, status: result.status, fortios_error: fortiosError?.code }, `actions: call refused, not retried: ${message}`);
      throw new UnrecoverableError(message);
    }
    const final = attempt >= maxAttempts;
    const retryInMs = final ? undefined : backoffDelayMs(job, settings.backoff_initial_ms, attempt);
    await record({ ...base, action, outcome: final ? 'failed' : 'retrying', timeMs: Date.now(), httpStatus, fortiosError, message, request: requestText, retryInMs });
    if (final) logger.error({ ...log, status: httpStatus }, `actions: call failed after ${attempt} attempt(s): ${message}`);
    else logger.warn({ ...log, status: httpStatus, retry_in_ms: retryInMs }, `actions: call failed, will retry: ${message}`);
    throw new Error(message);
  }

  const connection = createBullmqConnection(options.redisUrl, options.redisTls, 'fortistream-actions-worker');
  const longestCallMs = Math.max(
    0,
    ...Object.values(options.devices).map((d) => d.timeout_ms),
    ...Object.values(settings.webhooks).map((w) => w.timeout_ms),
  );
  const worker = new Worker<unknown>(settings.queue, processJob, {
    connection,
    prefix: createActionKeys(options.prefix).bullmqPrefix,
    concurrency: settings.concurrency,
    // A job's lock must outlive its slowest call, or BullMQ would think it stalled and run it twice.
    lockDuration: Math.max(30_000, longestCallMs * 2 + 5000),
  });
  worker.on('error', (error) => logger.warn({ err: redactUrls(errorMessage(error)) }, 'actions worker: Redis error (BullMQ retries)'));

  // Queue depth for /metrics, through a Queue on the same connection.
  const depthQueue = metrics === undefined ? undefined : createActionQueue({ ...options, connection: options.redis, logger });
  const unregister = depthQueue === undefined ? undefined : metrics?.addQueue(settings.queue, () => depthQueue.counts());

  await worker.waitUntilReady();
  logger.info({ queue: settings.queue, devices: [...endpoints.devices.keys()], webhooks: [...endpoints.webhooks.keys()] }, 'actions runner started');

  return {
    async close() {
      unregister?.();
      await worker.close();
      await depthQueue?.close();
      await closeConnection(connection);
      endpoints.close();
    },
  };
}
