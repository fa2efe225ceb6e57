import { Cluster } from 'ioredis';
import { checkScriptReply } from './errors.js';
import { appliedSeqField, createStateKeys, type StateKeyOptions, type StateKeys } from './keys.js';
import { replyArray, replyNumber, replyString } from './reply.js';
import { defineStateCommands, type StateRedis } from './script-loader.js';
import { parsePendingAlert, pendingAlertField, type CounterAlert } from './counter-alerts.js';

export { alertFields, alertId, type CounterAlert } from './counter-alerts.js';

/** A sliding-window counter as the pipeline file declares it. */
export interface CounterSpec {
  /** Letters, digits, `_`, `-`, `.` (it is part of every key of the counter). */
  readonly name: string;
  readonly windowSeconds: number;
  /** Resolution: the window is a whole number of buckets; sums are exact to the bucket. */
  readonly bucketSeconds: number;
  /** Alert when the window sum reaches this value; no alerts when omitted. */
  readonly threshold?: number;
  /** How far before the window an event may still be applied; default 0. */
  readonly latenessSeconds?: number;
}

/** One event's contribution to one counter key. */
export interface CounterUpdate {
  readonly counter: CounterSpec;
  /** The key value, e.g. the user name or source IP (several fields joined by the caller). */
  readonly key: string;
  /** Event time, epoch ms. */
  readonly timeMs: number;
  /** Integer; default 1 (bytes for a bytes counter). */
  readonly increment?: number;
  /** The device that logged the event (observer serial, else name); set only for counters with an action. */
  readonly device?: string;
}

export interface CounterApplyResult {
  readonly alerts: readonly CounterAlert[];
  /** Updates (events) applied. */
  readonly applied: number;
  /** Updates (events) too old to apply: the `late` metric. */
  readonly late: number;
  /** Updates (events) skipped because their batch was applied already (see `CounterBatchSeq`). */
  readonly replayed: number;
}

/**
 * Makes `apply` idempotent: each counter key remembers the last batch sequence its writer applied
 * (hash field `seq:<writer>`), and a call at or below it changes nothing. The sequence is the batch's
 * last frame's (runtime/sequence.ts), the same on every retry and spool replay of the batch.
 */
export interface CounterBatchSeq {
  /** Who writes (one sequence per writer: two workers counting into the same keys do not collide). */
  readonly writer: string;
  readonly seq: number;
}

export interface CounterBucket {
  readonly startMs: number;
  readonly value: number;
  readonly firstEventMs: number;
  readonly lastEventMs: number;
}

export interface CounterReading {
  readonly counter: string;
  readonly key: string;
  /** Sum over the current window. */
  readonly value: number;
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  /** Buckets of the current window that hold anything, oldest first. */
  readonly buckets: readonly CounterBucket[];
}

export interface CounterStore {
  /** The key layout this store uses (see keys.ts). */
  readonly layout: StateKeys;
  /**
   * Applies a batch: increments for the same (counter, key, bucket) are combined first, then one
   * script call per (counter, key) goes out, pipelined. `nowMs` is the event-time high-water mark
   * (raised to the newest event of the batch).
   */
  apply(updates: readonly CounterUpdate[], nowMs: number, batch?: CounterBatchSeq): Promise<CounterApplyResult>;
  /**
   * Confirms that these alerts were written where they belong: until then every `apply` touching
   * their key (and every retry or replay of their batch) returns them again, so a lost alert is
   * raised again rather than never (at least once; `alertId` names the repeats).
   */
  ackAlerts(alerts: readonly CounterAlert[]): Promise<void>;
  /** The current window of one key (plain read, no script). */
  read(counter: CounterSpec, key: string, nowMs: number): Promise<CounterReading>;
  /** Key values that currently have buckets (SCAN on every node of a cluster). */
  keys(counter: CounterSpec | string, limit?: number): Promise<string[]>;
}

const NAME = /^[A-Za-z0-9_.-]+$/;

/** Counter keys per counter-add-many call on a single Redis. */
const KEYS_PER_CALL = 200;

interface CounterTimes {
  readonly windowMs: number;
  readonly bucketMs: number;
  readonly latenessMs: number;
}

function counterTimes(spec: CounterSpec): CounterTimes {
  if (!NAME.test(spec.name)) throw new RangeError(`counter name must match ${String(NAME)}: ${spec.name}`);
  const bucketMs = spec.bucketSeconds * 1000;
  const windowMs = spec.windowSeconds * 1000;
  const latenessMs = (spec.latenessSeconds ?? 0) * 1000;
  if (!Number.isSafeInteger(bucketMs) || bucketMs < 1) throw new RangeError(`${spec.name}: bucket_seconds must be positive`);
  if (!Number.isSafeInteger(windowMs) || windowMs < bucketMs || windowMs % bucketMs !== 0) {
    throw new RangeError(`${spec.name}: window_seconds must be a positive multiple of bucket_seconds`);
  }
  if (!Number.isSafeInteger(latenessMs) || latenessMs < 0) throw new RangeError(`${spec.name}: lateness must be ≥ 0`);
  return { windowMs, bucketMs, latenessMs };
}

export interface BucketAccumulator {
  increment: number;
  events: number;
  firstMs: number;
  lastMs: number;
}

interface KeyBatch {
  readonly spec: CounterSpec;
  readonly key: string;
  readonly times: CounterTimes;
  readonly buckets: Map<number, BucketAccumulator>;
}

/** One counter-add call: the combined buckets of one (counter, key) and the script's ARGV. */
export interface CounterCall {
  readonly spec: CounterSpec;
  readonly key: string;
  /** Bucket start → combined increment, event count and first/last event time. */
  readonly buckets: ReadonlyMap<number, Readonly<BucketAccumulator>>;
  readonly argv: readonly (string | number)[];
}

/**
 * Combines a batch before anything is sent: updates of the same (counter, key, bucket) become one
 * (sum, first, last), and each (counter, key) becomes one script call. `nowMs` is raised to the
 * newest event time in the batch.
 */
export function planCounterCalls(updates: readonly CounterUpdate[], nowMs: number, batch?: CounterBatchSeq): CounterCall[] {
  if (batch !== undefined && !Number.isSafeInteger(batch.seq)) throw new RangeError('batch seq must be a safe integer');
  const seqField = batch === undefined ? '' : appliedSeqField(batch.writer);
  const seq = batch === undefined ? 0 : batch.seq;
  const timesBySpec = new Map<CounterSpec, CounterTimes>();
  const batches = new Map<string, KeyBatch>();
  let highWater = nowMs;
  for (const update of updates) {
    let times = timesBySpec.get(update.counter);
    if (!times) {
      times = counterTimes(update.counter);
      timesBySpec.set(update.counter, times);
    }
    const increment = update.increment ?? 1;
    if (!Number.isSafeInteger(increment)) throw new RangeError(`${update.counter.name}: increment must be an integer`);
    if (!Number.isSafeInteger(update.timeMs)) throw new RangeError(`${update.counter.name}: timeMs must be an integer`);
    if (update.timeMs > highWater) highWater = update.timeMs;
    const batchKey = `${update.counter.name}\u0000${update.key}`;
    let batch = batches.get(batchKey);
    if (!batch) {
      batch = { spec: update.counter, key: update.key, times, buckets: new Map() };
      batches.set(batchKey, batch);
    }
    const bucketStart = Math.floor(update.timeMs / times.bucketMs) * times.bucketMs;
    const bucket = batch.buckets.get(bucketStart);
    if (!bucket) {
      batch.buckets.set(bucketStart, { increment, events: 1, firstMs: update.timeMs, lastMs: update.timeMs });
    } else {
      bucket.increment += increment;
      bucket.events += 1;
      if (update.timeMs < bucket.firstMs) bucket.firstMs = update.timeMs;
      if (update.timeMs > bucket.lastMs) bucket.lastMs = update.timeMs;
    }
  }
  return [...batches.values()].map((batch) => {
    const argv: (string | number)[] = [
      highWater,
      batch.times.windowMs,
      batch.times.bucketMs,
      batch.spec.threshold ?? 0,
      batch.times.latenessMs,
      batch.buckets.size,
    ];
    for (const [start, bucket] of batch.buckets) argv.push(start, bucket.increment, bucket.firstMs, bucket.lastMs);
    argv.push(seqField, seq);
    return { spec: batch.spec, key: batch.key, buckets: batch.buckets, argv };
  });
}

export function createCounterStore(redis: StateRedis, options: StateKeyOptions = {}): CounterStore {
  defineStateCommands(redis);
  const keys = createStateKeys(options);

  const runCalls = async (calls: readonly (readonly [string, string, ...(string | number)[]])[]): Promise<unknown[]> => {
    if (!(redis instanceof Cluster)) {
      // One Redis: many keys per script call (counter-add-many), because a batch touches hundreds of
      // keys and the per-call cost of a script dominated (measured: 28k calls per 200k events).
      // Chunks keep each call short: a script blocks the server while it runs.
      const pipeline = redis.pipeline();
      for (let start = 0; start < calls.length; start += KEYS_PER_CALL) {
        const chunk = calls.slice(start, start + KEYS_PER_CALL);
        const keysThenArgv: (string | number)[] = [];
        for (const [bucketsKey, alertKey] of chunk) keysThenArgv.push(bucketsKey, alertKey);
        keysThenArgv.push(chunk.length);
        for (const [, , ...argv] of chunk) keysThenArgv.push(...argv);
        pipeline.fortistreamCounterAddMany(chunk.length * 2, ...keysThenArgv);
      }
      const results = (await pipeline.exec()) ?? [];
      const replies: unknown[] = [];
      for (const [error, reply] of results) {
        if (error) throw error;
        replies.push(...replyArray('counter-add-many', checkScriptReply('counter-add-many', reply)));
      }
      return replies;
    }
    // On a cluster the keys spread over slots and an ioredis pipeline must stay on one node; the
    // calls are written without waiting for each other, which pipelines them on each connection.
    return Promise.all(calls.map(([bucketsKey, alertKey, ...argv]) => redis.fortistreamCounterAdd(bucketsKey, alertKey, ...argv)));
  };

  return {
    layout: keys,
    async apply(updates, nowMs, batchSeq) {
      const plan = planCounterCalls(updates, nowMs, batchSeq);
      if (plan.length === 0) return { alerts: [], applied: 0, late: 0, replayed: 0 };
      const calls = plan.map(
        (call) => [keys.counterBuckets(call.spec.name, call.key), keys.counterAlert(call.spec.name, call.key), ...call.argv] as const,
      );
      const replies = await runCalls(calls);

      const alerts: CounterAlert[] = [];
      let applied = 0;
      let late = 0;
      let replayed = 0;
      replies.forEach((reply, index) => {
        const batch = plan[index];
        if (!batch) return;
        // { sum_now, alerts, lates, late bucket starts…, alert texts… } (counter-add-2.lua)
        const items = replyArray('counter-add', checkScriptReply('counter-add', reply));
        const alertCount = replyNumber('counter-add', items[1]);
        const lateCount = replyNumber('counter-add', items[2]);
        for (let a = 0; a < alertCount; a += 1) {
          alerts.push(parsePendingAlert(batch.spec, batch.key, replyString('counter-add', items[3 + lateCount + a])));
        }
        if (replyNumber('counter-add', items[0]) === -1) {
          for (const bucket of batch.buckets.values()) replayed += bucket.events;
          return;
        }
        let lateEvents = 0;
        for (const item of items.slice(3, 3 + lateCount)) lateEvents += batch.buckets.get(replyNumber('counter-add', item))?.events ?? 0;
        let events = 0;
        for (const bucket of batch.buckets.values()) events += bucket.events;
        late += lateEvents;
        applied += events - lateEvents;
      });
      alerts.sort((a, b) => a.windowEndMs - b.windowEndMs);
      return { alerts, applied, late, replayed };
    },

    async ackAlerts(alerts) {
      if (alerts.length === 0) return;
      const deletes = alerts.map((alert) => [keys.counterBuckets(alert.counter, alert.key), pendingAlertField(alert.windowEndMs)] as const);
      if (redis instanceof Cluster) {
        await Promise.all(deletes.map(([bucketsKey, field]) => redis.hdel(bucketsKey, field)));
        return;
      }
      const pipeline = redis.pipeline();
      for (const [bucketsKey, field] of deletes) pipeline.hdel(bucketsKey, field);
      for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
    },

    async read(counter, key, nowMs) {
      const times = counterTimes(counter);
      const currentBucket = Math.floor(nowMs / times.bucketMs) * times.bucketMs;
      const raw = await redis.hgetall(keys.counterBuckets(counter.name, key));
      const byStart = new Map<number, { value: number; firstEventMs: number; lastEventMs: number }>();
      for (const [field, value] of Object.entries(raw)) {
        const kind = field.slice(0, 2);
        // Buckets only: not the writers' `seq:` fields nor pending alerts (`a:`).
        if (kind !== 'c:' && kind !== 'f:' && kind !== 'l:') continue;
        const start = Number(field.slice(2));
        if (!Number.isFinite(start) || start <= currentBucket - times.windowMs || start > currentBucket) continue;
        const entry = byStart.get(start) ?? { value: 0, firstEventMs: 0, lastEventMs: 0 };
        if (kind === 'c:') entry.value = Number(value);
        else if (kind === 'f:') entry.firstEventMs = Number(value);
        else if (kind === 'l:') entry.lastEventMs = Number(value);
        byStart.set(start, entry);
      }
      const buckets = [...byStart].sort(([a], [b]) => a - b).map(([startMs, entry]) => ({ startMs, ...entry }));
      return {
        counter: counter.name,
        key,
        value: buckets.reduce((sum, bucket) => sum + bucket.value, 0),
        windowStartMs: currentBucket + times.bucketMs - times.windowMs,
        windowEndMs: currentBucket + times.bucketMs,
        buckets,
      };
    },

    async keys(counter, limit = 10_000) {
      const name = typeof counter === 'string' ? counter : counter.name;
      const pattern = keys.counterScanPattern(name);
      const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
      const found = new Set<string>();
      for (const node of nodes) {
        let cursor = '0';
        do {
          const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
          cursor = next;
          for (const redisKey of batch) {
            const key = keys.counterKeyFromBucketsKey(name, replyString('counter-keys', redisKey));
            if (key !== undefined) found.add(key);
          }
        } while (cursor !== '0' && found.size < limit);
      }
      return [...found].slice(0, limit);
    },
  };
}
