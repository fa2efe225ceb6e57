import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ComponentMetrics, Metrics } from '../observability/metrics.js';
import type { SinkBatch } from '../runtime/contracts.js';
import { isEncodedBatch, type EncodingSink, type SinkEncoder } from '../runtime/pipeline.js';
import { errorMessage } from '../errors.js';
import { alertFields, alertId, createCounterStore, type CounterAlert, type CounterBatchSeq } from './counters.js';
import type { NormalizedEvent } from '../parse/event.js';
import type { CompiledRules, RuleBatchResult, SessionOp } from './rules.js';
import { createSessionStore, type SessionReplayGuard, type SessionStore } from './sessions.js';
import type { CounterActionSettings } from './rules-schema.js';

/** An alert whose counter declares an action, with the devices (observer serial/name) that logged its events. */
export interface ActionableAlert {
  readonly alert: CounterAlert;
  readonly action: CounterActionSettings;
  readonly observers: readonly string[];
}

/** What a pipeline reload may change in the state stage (`StateStage.reconfigure`). */
/** A profile that also carries threshold alerts (`alerts: true`): its stream and its view of an alert. */
export interface AlertProjection {
  readonly profile: string;
  readonly stream: string;
  readonly maxLen: number;
  /** The alert as the profile's entry (no raw identity); `keyFields`: the counter's key fields. */
  project(alert: CounterAlert, keyFields: readonly string[], nowMs: number): string[];
}

export interface StateStageConfig {
  readonly rules: CompiledRules;
  readonly auditRefresh: boolean;
  readonly alertsStream: string;
  readonly alertsMaxLen: number;
  /** Profiles that carry alerts too, each on its own stream. */
  readonly alertProjections?: readonly AlertProjection[];
  /** Each counter's key fields, by counter name (for the projections). */
  readonly counterKeyFields?: ReadonlyMap<string, readonly string[]>;
}

export interface StateStageOptions extends StateStageConfig {
  readonly redis: Redis;
  /** Key prefix and audit stream fix the key layout (the audit stream is the identity hash tag): not reloadable. */
  readonly prefix: string;
  readonly auditStream: string;
  readonly auditMaxLen: number;
  /** How far ahead of the wall clock an event time may push the counters' clock (bad device clocks). */
  readonly maxClockSkewMs?: number;
  readonly metrics: ComponentMetrics;
  readonly counters: Pick<Metrics, 'alertsRaised' | 'stateChanges'>;
  readonly logger: Logger;
  /**
   * Alerts of counters that declare an action, with the devices that logged the counted events.
   * Called after the alerts are written; must not throw (it owns retries: see alert-actions.ts).
   */
  readonly onActionAlerts?: (alerts: readonly ActionableAlert[]) => void;
  /**
   * Who writes (the worker's sinks stream): with it, batches carrying sequences (the pipeline's) are
   * applied once however often they are sent (counters and sessions remember the writer's last
   * applied sequence). Without it nothing is remembered.
   */
  readonly writer?: string;
}

/**
 * The state stage's "encoding": it evaluates each event's rules as the event arrives and keeps only
 * what they yield (a few session ops and counter updates per batch), so the batch's events need not
 * be kept as objects (see EncodingSink).
 */
class RulePlanEncoder implements SinkEncoder {
  readonly plan: RuleBatchResult = { sessionOps: [], refreshes: [], counterUpdates: [] };
  /** The frame sequence of each session op's event (same order as plan.sessionOps). */
  readonly opSeqs: number[] = [];
  private bytes = 0;
  /** The configuration in force when the batch opened: the batch is applied with it, even after a reload. */
  constructor(readonly generation: Generation) {}
  add(event: NormalizedEvent, seq = 0): number {
    const before = this.plan.sessionOps.length + this.plan.refreshes.length + this.plan.counterUpdates.length;
    const opsBefore = this.plan.sessionOps.length;
    this.generation.rules.evaluateInto(event, this.plan);
    for (let i = opsBefore; i < this.plan.sessionOps.length; i += 1) this.opSeqs.push(seq);
    const after = this.plan.sessionOps.length + this.plan.refreshes.length + this.plan.counterUpdates.length;
    // An op or update is a small object with a few short strings.
    this.bytes += (after - before) * PLAN_ITEM_BYTES;
    return this.bytes;
  }
}

const PLAN_ITEM_BYTES = 256;

/** One configuration of the stage: what a batch is evaluated and applied with. */
interface Generation {
  readonly rules: CompiledRules;
  readonly sessions: SessionStore;
  readonly alertsStream: string;
  readonly alertsMaxLen: number;
  readonly alertProjections: readonly AlertProjection[];
  readonly counterKeyFields: ReadonlyMap<string, readonly string[]>;
}

export interface StateStage extends EncodingSink {
  /** The session store of the configuration in force. */
  readonly sessions: SessionStore;
  /**
   * New rules, thresholds and session settings for batches opened from now on (batches already open
   * keep theirs). Counters keep their Redis keys and values; a removed counter's keys age out.
   */
  reconfigure(config: StateStageConfig): void;
  /** Expires every due session (audited by the script); returns how many. */
  sweep(nowMs?: number): Promise<number>;
}

/**
 * The state stage: applies a batch's session operations (in event order), activity refreshes and
 * counter increments, and writes threshold alerts. It runs as a sink of the batch pipeline, so it
 * shares batching, retries and back-pressure with the stream sinks; batches are applied one at a
 * time, in order, because a logout must not overtake its login.
 *
 * Clocks: sessions expire in wall-clock time (`Date.now()`), like the FortiGate's own timers;
 * counters run on event time, advanced by the newest event seen (never more than `maxClockSkewMs`
 * ahead of the wall clock), so replays and late events land in the windows they belong to.
 */
export function createStateStage(options: StateStageOptions): StateStage {
  const { redis, metrics, logger } = options;
  const generationOf = (config: StateStageConfig): Generation => ({
    rules: config.rules,
    sessions: createSessionStore(redis, {
      prefix: options.prefix,
      auditStream: options.auditStream,
      auditMaxLen: options.auditMaxLen,
      auditRefresh: config.auditRefresh,
    }),
    alertsStream: config.alertsStream,
    alertsMaxLen: config.alertsMaxLen,
    alertProjections: config.alertProjections ?? [],
    counterKeyFields: config.counterKeyFields ?? new Map(),
  });
  let current = generationOf(options);
  const counters = createCounterStore(redis, { prefix: options.prefix, auditStream: options.auditStream });
  const skewMs = options.maxClockSkewMs ?? 300_000;
  let eventClockMs = 0;
  let chain: Promise<void> = Promise.resolve();
  const writer = options.writer;
  const planned = new WeakMap<SinkBatch, RulePlanEncoder>();
  // Batches in the order first given, and those whose last attempt failed: a later batch waits for
  // an earlier failed one (a logout must not overtake its login, and a replayed sequence below the
  // applied one would be skipped).
  const order = new WeakMap<SinkBatch, number>();
  let nextOrder = 0;
  const failed = new Map<SinkBatch, number>();

  const applySessionOps = async (sessions: SessionStore, ops: readonly SessionOp[], nowMs: number, replay: SessionReplayGuard | undefined): Promise<void> => {
    const results = await sessions.applyOps(ops, nowMs, replay);
    for (const change of results) {
      if (change.kind === 'open') {
        const status = change.result.status;
        if (status === 'replayed') metrics.dropped('replayed');
        else options.counters.stateChanges.inc({ change: status === 'expired' ? 'session_already_expired' : 'session_open' });
      } else if (change.closed.length > 0) {
        options.counters.stateChanges.inc({ change: 'session_close' }, change.closed.length);
      }
    }
  };

  const writeAlerts = async (generation: Generation, alerts: readonly CounterAlert[]): Promise<void> => {
    if (alerts.length === 0) return;
    const pipeline = redis.pipeline();
    const nowMs = Date.now();
    for (const alert of alerts) {
      const fields = alertFields(alert, alertId(alert), ['fortistream.counter_key', alert.key], nowMs);
      pipeline.xadd(generation.alertsStream, 'MAXLEN', '~', String(generation.alertsMaxLen), '*', ...fields);
    }
    // The same alerts for the profiles that carry them, pseudonymized like their events.
    for (const projection of generation.alertProjections) {
      for (const alert of alerts) {
        let fields: string[];
        try {
          fields = projection.project(alert, generation.counterKeyFields.get(alert.counter) ?? [], nowMs);
        } catch (error) {
          logger.error({ profile: projection.profile, counter: alert.counter, err: errorMessage(error) }, 'cannot project an alert for a profile; left out of its stream');
          continue;
        }
        pipeline.xadd(projection.stream, 'MAXLEN', '~', String(projection.maxLen), '*', ...fields);
      }
    }
    const results = (await pipeline.exec()) ?? [];
    for (const [error] of results) if (error) throw error;
    for (const alert of alerts) options.counters.alertsRaised.inc({ counter: alert.counter });
    logger.info({ alerts: alerts.map((a) => ({ counter: a.counter, key: a.key, value: a.value })) }, 'threshold alert');
    // Written: the counter keys may forget them. Until then every retry or replay of this batch, and
    // the keys' next events, raise them again; a failed confirmation costs a repeat, never a loss.
    try {
      await counters.ackAlerts(alerts);
    } catch (error) {
      logger.warn({ err: error, alerts: alerts.length }, 'could not confirm written alerts: they may be raised again (same fortistream.alert_id)');
    }
  };

  const applyCounters = async (
    generation: Generation,
    updates: RuleBatchResult['counterUpdates'],
    nowMs: number,
    batchSeq: CounterBatchSeq | undefined,
  ): Promise<void> => {
    let newest = 0;
    for (const update of updates) if (update.timeMs > newest) newest = update.timeMs;
    eventClockMs = Math.max(eventClockMs, Math.min(newest, nowMs + skewMs));
    const result = await counters.apply(updates, eventClockMs, batchSeq);
    if (result.replayed > 0) metrics.dropped('replayed', result.replayed);
    if (result.late > 0) {
      metrics.dropped('late', result.late);
      options.counters.stateChanges.inc({ change: 'counter_late' }, result.late);
    }
    await writeAlerts(generation, result.alerts);
    if (options.onActionAlerts !== undefined && generation.rules.counterActions.size > 0 && result.alerts.length > 0) {
      const actionable = actionableAlerts(generation.rules, result.alerts, updates);
      if (actionable.length > 0) options.onActionAlerts(actionable);
    }
  };

  /** The alerts whose counter has an action, each with the devices that logged its key's events in this batch. */
  const actionableAlerts = (rules: CompiledRules, alerts: readonly CounterAlert[], updates: RuleBatchResult['counterUpdates']): ActionableAlert[] => {
    const out: ActionableAlert[] = [];
    for (const alert of alerts) {
      const action = rules.counterActions.get(alert.counter);
      if (action === undefined) continue;
      const observers = new Set<string>();
      for (const update of updates) {
        if (update.device !== undefined && update.counter.name === alert.counter && update.key === alert.key) observers.add(update.device);
      }
      out.push({ alert, action, observers: [...observers] });
    }
    return out;
  };

  const applySessions = async (sessions: SessionStore, plan: RuleBatchResult, nowMs: number, replay: SessionReplayGuard | undefined): Promise<void> => {
    // Refreshes only touch addresses that already have a session, so they follow the opens.
    // (A refresh is idempotent by itself: it moves times forward to the latest activity only.)
    if (plan.sessionOps.length > 0) await applySessionOps(sessions, plan.sessionOps, nowMs, replay);
    if (plan.refreshes.length > 0) await sessions.refresh(plan.refreshes, nowMs);
  };

  const planOf = (batch: SinkBatch): RulePlanEncoder => {
    if (isEncodedBatch(batch) && batch.encoded instanceof RulePlanEncoder) return batch.encoded;
    let plan = planned.get(batch);
    if (plan === undefined) {
      plan = new RulePlanEncoder(current);
      const seqs = batch.eventSeqs;
      for (let i = 0; i < batch.events.length; i += 1) plan.add(batch.events[i] as NormalizedEvent, seqs?.[i] ?? 0);
      planned.set(batch, plan);
    }
    return plan;
  };

  const apply = async (batch: SinkBatch): Promise<void> => {
    const eventCount = isEncodedBatch(batch) ? batch.eventCount : batch.events.length;
    if (eventCount === 0) return;
    const encoder = planOf(batch);
    const generation = encoder.generation;
    const plan = encoder.plan;
    metrics.receivedEvents(eventCount);
    const nowMs = Date.now();
    const sequenced = writer !== undefined && batch.lastSeq !== undefined;
    const replay = sequenced ? { writer, seqs: encoder.opSeqs } : undefined;
    const batchSeq = sequenced ? { writer, seq: batch.lastSeq as number } : undefined;
    // Sessions and counters use different keys: both go out at once.
    await Promise.all([
      applySessions(generation.sessions, plan, nowMs, replay),
      plan.counterUpdates.length > 0 ? applyCounters(generation, plan.counterUpdates, nowMs, batchSeq) : undefined,
    ]);
    metrics.sentEvents(eventCount);
  };

  return {
    name: 'state',
    get sessions() {
      return current.sessions;
    },
    reconfigure(config) {
      current = generationOf(config);
    },
    encoder: () => new RulePlanEncoder(current),
    write(batch) {
      let position = order.get(batch);
      if (position === undefined) {
        position = nextOrder;
        nextOrder += 1;
        order.set(batch, position);
      }
      const mine = position;
      const next = chain.then(async () => {
        for (const [other, otherOrder] of failed) {
          if (other !== batch && otherOrder < mine) {
            // This batch waits too: a later one applied before it would make its sequence look replayed.
            failed.set(batch, mine);
            throw new Error('state: an earlier batch failed and must be applied first');
          }
        }
        try {
          await apply(batch);
          failed.delete(batch);
        } catch (error) {
          failed.set(batch, mine);
          throw error;
        }
      });
      // A failed batch is retried by the pipeline; the chain itself must not stay rejected.
      chain = next.catch(() => undefined);
      return next;
    },
    async sweep(nowMs = Date.now()) {
      let total = 0;
      for (;;) {
        const result = await current.sessions.sweep(nowMs);
        total += result.expired.length + result.lostIds.length;
        if (!result.more) break;
      }
      if (total > 0) options.counters.stateChanges.inc({ change: 'session_expired' }, total);
      return total;
    },
    async close() {
      await chain;
    },
  };
}
