import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ComponentMetrics, Metrics } from '../observability/metrics.js';
import type { SinkBatch } from '../runtime/contracts.js';
import { isEncodedBatch, type EncodingSink, type SinkEncoder } from '../runtime/pipeline.js';
import { createCounterStore, type CounterAlert, type CounterBatchSeq } from './counters.js';
import type { NormalizedEvent } from '../parse/event.js';
import type { CompiledRules, RuleBatchResult, SessionOp } from './rules.js';
import { createSessionStore, type SessionReplayGuard, type SessionStore } from './sessions.js';

export interface StateStageOptions {
  readonly redis: Redis;
  readonly rules: CompiledRules;
  readonly prefix: string;
  readonly auditStream: string;
  readonly auditMaxLen: number;
  readonly auditRefresh: boolean;
  readonly alertsStream: string;
  readonly alertsMaxLen: number;
  /** How far ahead of the wall clock an event time may push the counters' clock (bad device clocks). */
  readonly maxClockSkewMs?: number;
  readonly metrics: ComponentMetrics;
  readonly counters: Pick<Metrics, 'alertsRaised' | 'stateChanges'>;
  readonly logger: Logger;
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
  constructor(private readonly rules: CompiledRules) {}
  add(event: NormalizedEvent, seq = 0): number {
    const before = this.plan.sessionOps.length + this.plan.refreshes.length + this.plan.counterUpdates.length;
    const opsBefore = this.plan.sessionOps.length;
    this.rules.evaluateInto(event, this.plan);
    for (let i = opsBefore; i < this.plan.sessionOps.length; i += 1) this.opSeqs.push(seq);
    const after = this.plan.sessionOps.length + this.plan.refreshes.length + this.plan.counterUpdates.length;
    // An op or update is a small object with a few short strings.
    this.bytes += (after - before) * PLAN_ITEM_BYTES;
    return this.bytes;
  }
}

const PLAN_ITEM_BYTES = 256;

export interface StateStage extends EncodingSink {
  readonly sessions: SessionStore;
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
  const { redis, rules, metrics, logger } = options;
  const sessions = createSessionStore(redis, {
    prefix: options.prefix,
    auditStream: options.auditStream,
    auditMaxLen: options.auditMaxLen,
    auditRefresh: options.auditRefresh,
  });
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

  const applySessionOps = async (ops: readonly SessionOp[], nowMs: number, replay: SessionReplayGuard | undefined): Promise<void> => {
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

  const writeAlerts = async (alerts: readonly CounterAlert[]): Promise<void> => {
    if (alerts.length === 0) return;
    const pipeline = redis.pipeline();
    for (const alert of alerts) {
      pipeline.xadd(
        options.alertsStream,
        'MAXLEN',
        '~',
        String(options.alertsMaxLen),
        '*',
        '@timestamp',
        new Date().toISOString(),
        'event.kind',
        'alert',
        'event.action',
        'threshold-crossed',
        'fortistream.counter',
        alert.counter,
        'fortistream.counter_key',
        alert.key,
        'fortistream.value',
        String(alert.value),
        'fortistream.threshold',
        String(alert.threshold),
        'fortistream.window_seconds',
        String(alert.windowSeconds),
        'fortistream.window_start',
        new Date(alert.windowStartMs).toISOString(),
        'fortistream.window_end',
        new Date(alert.windowEndMs).toISOString(),
        'event.start',
        new Date(alert.firstEventMs).toISOString(),
        'event.end',
        new Date(alert.lastEventMs).toISOString(),
      );
    }
    const results = (await pipeline.exec()) ?? [];
    for (const [error] of results) if (error) throw error;
    for (const alert of alerts) options.counters.alertsRaised.inc({ counter: alert.counter });
    logger.info({ alerts: alerts.map((a) => ({ counter: a.counter, key: a.key, value: a.value })) }, 'threshold alert');
  };

  const applyCounters = async (updates: RuleBatchResult['counterUpdates'], nowMs: number, batchSeq: CounterBatchSeq | undefined): Promise<void> => {
    let newest = 0;
    for (const update of updates) if (update.timeMs > newest) newest = update.timeMs;
    eventClockMs = Math.max(eventClockMs, Math.min(newest, nowMs + skewMs));
    const result = await counters.apply(updates, eventClockMs, batchSeq);
    if (result.replayed > 0) metrics.dropped('replayed', result.replayed);
    if (result.late > 0) {
      metrics.dropped('late', result.late);
      options.counters.stateChanges.inc({ change: 'counter_late' }, result.late);
    }
    await writeAlerts(result.alerts);
  };

  const applySessions = async (plan: RuleBatchResult, nowMs: number, replay: SessionReplayGuard | undefined): Promise<void> => {
    // Refreshes only touch addresses that already have a session, so they follow the opens.
    // (A refresh is idempotent by itself: it moves times forward to the latest activity only.)
    if (plan.sessionOps.length > 0) await applySessionOps(plan.sessionOps, nowMs, replay);
    if (plan.refreshes.length > 0) await sessions.refresh(plan.refreshes, nowMs);
  };

  const planOf = (batch: SinkBatch): RulePlanEncoder => {
    if (isEncodedBatch(batch) && batch.encoded instanceof RulePlanEncoder) return batch.encoded;
    let plan = planned.get(batch);
    if (plan === undefined) {
      plan = new RulePlanEncoder(rules);
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
    const plan = encoder.plan;
    metrics.receivedEvents(eventCount);
    const nowMs = Date.now();
    const sequenced = writer !== undefined && batch.lastSeq !== undefined;
    const replay = sequenced ? { writer, seqs: encoder.opSeqs } : undefined;
    const batchSeq = sequenced ? { writer, seq: batch.lastSeq as number } : undefined;
    // Sessions and counters use different keys: both go out at once.
    await Promise.all([
      applySessions(plan, nowMs, replay),
      plan.counterUpdates.length > 0 ? applyCounters(plan.counterUpdates, nowMs, batchSeq) : undefined,
    ]);
    metrics.sentEvents(eventCount);
  };

  return {
    name: 'state',
    sessions,
    encoder: () => new RulePlanEncoder(rules),
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
          if (other !== batch && otherOrder < mine) throw new Error('state: an earlier batch failed and must be applied first');
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
        const result = await sessions.sweep(nowMs);
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
