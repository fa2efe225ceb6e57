import { Counter, Gauge, type Registry } from 'prom-client';
import type { ActionJobState } from './queue.js';

/** Outcomes counted per job type: the audit outcomes, plus `rate_limited` (a call postponed). */
export type ActionMetricOutcome = 'succeeded' | 'failed' | 'retrying' | 'dry_run' | 'rate_limited';

export interface ActionMetrics {
  outcome(type: string, outcome: ActionMetricOutcome): void;
  /** Registers a queue whose depth the gauge reads at scrape time; returns the unregister function. */
  addQueue(name: string, counts: () => Promise<Record<ActionJobState, number>>): () => void;
}

const byRegistry = new WeakMap<Registry, ActionMetrics>();

/**
 * `fortistream_actions_total{type,outcome}` and `fortistream_actions_jobs{queue,state}` on a
 * registry, created once per registry: a runner restarted by a hot reload reuses them.
 */
export function actionMetrics(registry: Registry): ActionMetrics {
  const existing = byRegistry.get(registry);
  if (existing !== undefined) return existing;
  const queues = new Map<string, () => Promise<Record<ActionJobState, number>>>();
  const outcomes = new Counter({
    name: 'fortistream_actions_total',
    help: 'Enforcement job outcomes by job type: succeeded, failed (final), retrying, dry_run, rate_limited (postponed for the device limit)',
    labelNames: ['type', 'outcome'],
    registers: [registry],
  });
  new Gauge({
    name: 'fortistream_actions_jobs',
    help: 'Jobs in the actions queue by state (waiting, active, delayed, failed, completed), read at scrape time',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [name, counts] of queues) {
        try {
          const current = await counts();
          for (const [state, value] of Object.entries(current)) this.set({ queue: name, state }, value);
        } catch {
          // Redis away: the scrape shows no depth rather than failing /metrics.
        }
      }
    },
  });
  const metrics: ActionMetrics = {
    outcome: (type, outcome) => outcomes.inc({ type, outcome }),
    addQueue(name, counts) {
      queues.set(name, counts);
      return () => {
        if (queues.get(name) === counts) queues.delete(name);
      };
    },
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
