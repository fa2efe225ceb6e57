import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { alertId } from '../state/counters.js';
import type { ActionableAlert } from '../state/stage.js';

export type { ActionableAlert };
import { errorMessage } from '../errors.js';
import type { DeviceResolver } from './device-resolver.js';
import type { ActionJob } from './jobs.js';

/**
 * Turns threshold alerts into action jobs: `ban-ip` on the device(s) that logged the counted events
 * (or the one the counter names), `webhook` with the alert. The job's idempotency key is the counter
 * and its window, so however often an alert is repeated (retries, two workers) a window bans once.
 *
 * Enqueueing never fails the state batch: the alert is already written and its per-window marker set,
 * so a failed batch retry would not raise it again. Jobs wait in a bounded in-memory queue and are
 * retried with backoff until Redis takes them; when that queue is full the oldest job is dropped and
 * counted (`fortistream_alert_actions_total{outcome="dropped"}`).
 */

export interface ActionEnqueuer {
  enqueue(job: ActionJob, options?: { idempotencyKey?: string }): Promise<{ jobId: string; duplicate: boolean }>;
}

export interface AddressListWriter {
  add(list: string, address: string, expiresMs: number): Promise<void>;
}

export interface AlertActionDispatcher {
  /** Plans the jobs of these alerts and starts enqueueing them; returns at once. */
  dispatch(alerts: readonly ActionableAlert[]): void;
  /** Resolves when every planned job was enqueued (or given up after `deadlineMs`). */
  drain(deadlineMs?: number): Promise<void>;
}

export interface AlertActionOptions {
  readonly queue: ActionEnqueuer;
  readonly devices: DeviceResolver;
  readonly lists?: AddressListWriter;
  readonly logger: Logger;
  readonly registry?: Registry;
  /** Most jobs waiting to be enqueued while Redis is away. */
  readonly maxPending?: number;
  readonly retryMaxMs?: number;
}

interface PlannedJob {
  readonly job: ActionJob;
  readonly idempotencyKey: string;
  readonly list?: { readonly name: string; readonly address: string; readonly expiresMs: number };
}

/** The jobs one alert yields (empty, with a logged reason, when its target or device is unknown). */
export function planAlertJobs(item: ActionableAlert, devices: DeviceResolver): { jobs: PlannedJob[]; skipped?: string } {
  const { alert, action } = item;
  const idempotencyKey = `${alert.counter}|${alert.key}|${alert.windowStartMs}`;
  const reason = `${alert.counter} reached ${alert.value} (threshold ${alert.threshold}) in ${alert.windowSeconds} s`;
  if (action.type === 'webhook') {
    return {
      jobs: [
        {
          job: {
            type: 'webhook',
            webhook: action.webhook,
            payload: {
              kind: 'threshold-crossed',
              alert_id: alertId(alert),
              counter: alert.counter,
              key: alert.key,
              value: alert.value,
              threshold: alert.threshold,
              window_seconds: alert.windowSeconds,
              window_start: new Date(alert.windowStartMs).toISOString(),
              window_end: new Date(alert.windowEndMs).toISOString(),
              first_event: new Date(alert.firstEventMs).toISOString(),
              last_event: new Date(alert.lastEventMs).toISOString(),
              observers: [...item.observers],
            },
          },
          idempotencyKey,
        },
      ],
    };
  }
  const ip = alert.key;
  if (isIP(ip) === 0) return { jobs: [], skipped: `counter key "${ip.slice(0, 64)}" is not an IP address` };
  let targets: string[];
  if (action.device !== undefined) {
    targets = [action.device];
  } else {
    targets = [...new Set(item.observers.map((observer) => devices.resolve(observer)).filter((d): d is string => d !== undefined))];
    if (targets.length === 0) {
      return { jobs: [], skipped: `no configured device matches the observers ${JSON.stringify(item.observers.slice(0, 5))}` };
    }
  }
  const expiresMs = action.seconds === 0 ? Number.POSITIVE_INFINITY : Date.now() + action.seconds * 1000;
  return {
    jobs: targets.map((device, index) => ({
      job: { type: 'ban-ip', device, ip, expirySeconds: action.seconds, reason },
      idempotencyKey,
      // One list entry per alert, whatever the number of devices.
      ...(index === 0 ? { list: { name: action.list, address: ip, expiresMs } } : {}),
    })),
  };
}

const ALERT_ACTIONS_METRIC = 'fortistream_alert_actions_total';

/** The outcome counter, registered once per registry (a reload builds a new dispatcher on the same one). */
function alertActionsCounter(registry: Registry | undefined): Counter<'counter' | 'outcome'> {
  const existing = registry?.getSingleMetric(ALERT_ACTIONS_METRIC);
  if (existing instanceof Counter) return existing as Counter<'counter' | 'outcome'>;
  return new Counter({
    name: ALERT_ACTIONS_METRIC,
    help: 'Jobs planned from threshold alerts, by outcome: enqueued, duplicate, skipped (no target), dropped (pending queue full), retried',
    labelNames: ['counter', 'outcome'],
    registers: registry ? [registry] : [],
  });
}

export function createAlertActionDispatcher(options: AlertActionOptions): AlertActionDispatcher {
  const { queue, devices, logger } = options;
  const maxPending = options.maxPending ?? 10_000;
  const retryMaxMs = options.retryMaxMs ?? 5000;
  const outcomes = alertActionsCounter(options.registry);
  const pending: { planned: PlannedJob; counter: string }[] = [];
  let running: Promise<void> | undefined;
  let delayMs = 0;

  const enqueueOne = async ({ planned, counter }: { planned: PlannedJob; counter: string }): Promise<void> => {
    if (planned.list !== undefined && options.lists !== undefined) {
      await options.lists.add(planned.list.name, planned.list.address, planned.list.expiresMs);
    }
    const result = await queue.enqueue(planned.job, { idempotencyKey: planned.idempotencyKey });
    outcomes.inc({ counter, outcome: result.duplicate ? 'duplicate' : 'enqueued' });
    logger.info({ counter, job: result.jobId, type: planned.job.type, duplicate: result.duplicate }, 'alert action enqueued');
  };

  const run = async (): Promise<void> => {
    while (pending.length > 0) {
      const next = pending[0];
      if (next === undefined) break;
      try {
        await enqueueOne(next);
        pending.shift();
        delayMs = 0;
      } catch (error) {
        delayMs = Math.min(retryMaxMs, delayMs === 0 ? 100 : delayMs * 2);
        outcomes.inc({ counter: next.counter, outcome: 'retried' });
        logger.warn({ err: errorMessage(error), retry_ms: delayMs }, 'cannot enqueue an alert action yet; retrying');
        await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
      }
    }
  };

  const kick = (): void => {
    running ??= run().finally(() => {
      running = undefined;
      if (pending.length > 0) kick();
    });
  };

  return {
    dispatch(alerts) {
      for (const item of alerts) {
        const { jobs, skipped } = planAlertJobs(item, devices);
        if (skipped !== undefined) {
          outcomes.inc({ counter: item.alert.counter, outcome: 'skipped' });
          logger.warn({ counter: item.alert.counter, action: item.action.type, reason: skipped }, 'alert action skipped');
        }
        for (const planned of jobs) {
          if (pending.length >= maxPending) {
            const dropped = pending.shift();
            if (dropped) outcomes.inc({ counter: dropped.counter, outcome: 'dropped' });
          }
          pending.push({ planned, counter: item.alert.counter });
        }
      }
      if (pending.length > 0) kick();
    },
    async drain(deadlineMs = 5000) {
      if (running === undefined) return;
      await Promise.race([running, new Promise((resolve) => setTimeout(resolve, deadlineMs).unref())]);
    },
  };
}
