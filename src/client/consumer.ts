import { createBlockingConnection, type BlockingConnection } from './blocking-connection.js';
import type { ConsumerLogger, StreamConsumer, StreamConsumerOptions, StreamConsumerStats } from './consumer-types.js';
import { canMoveAtomically, deadLetterAtomically, deadLetterSeparately, type DeadLetterRequest } from './dead-letter.js';
import { fieldsToRecord, parseAutoClaimReply, parsePendingRows, parseReadReply, type RawStreamEntry } from './stream-replies.js';

export type { ConsumerLogger, StreamConsumer, StreamConsumerOptions, StreamConsumerStats, StreamEntry, StreamEntryHandler } from './consumer-types.js';

/** At most this many handler error messages are remembered for dead letters. */
const MAX_REMEMBERED_ERRORS = 10_000;
const MAX_BACKOFF_MS = 5_000;
const MAX_CLAIM_PAGES_PER_ROUND = 100;

const silentLogger: ConsumerLogger = { debug() {}, info() {}, warn() {}, error() {} };

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError';
}

/**
 * A consumer of one Redis Stream through a consumer group.
 *
 * **Delivery contract: at-least-once.** An entry is acked only after its handler resolved, so a
 * crash, a lost connection or a handler that outlives `claimIdleMs` can make the group deliver an
 * entry again (to this consumer or another). Handlers must be idempotent: dedupe by `entry.id`
 * (e.g. `SET seen:<id> 1 NX EX …`, or an upsert keyed by it). Within one consumer the handler is
 * called for one entry at a time, in id order per read; across consumers there is no order.
 *
 * Failures: a handler that throws leaves its entry pending; it is handled again once it has been
 * idle `claimIdleMs` (by whichever consumer reclaims first). An entry delivered `maxDeliveries`
 * times is moved to the dead-letter stream with `original_stream`, `original_id`, `deliveries`,
 * `consumer_group` and `error` (the last handler error, when this consumer saw it) and acked.
 *
 * Without `decode`, fields arrive as `Record<string, string>`; with it, as what it returns.
 */
export function createStreamConsumer(options: StreamConsumerOptions<Record<string, string>>): StreamConsumer;
export function createStreamConsumer<T>(options: StreamConsumerOptions<T> & { readonly decode: (fields: string[]) => T }): StreamConsumer;
export function createStreamConsumer<T>(options: StreamConsumerOptions<T>): StreamConsumer {
  const { redis, stream, group, consumer, handler } = options;
  const batchSize = options.batchSize ?? 100;
  const blockMs = Math.max(1, options.blockMs ?? 5000);
  const claimIdleMs = options.claimIdleMs ?? 60_000;
  const claimIntervalMs = options.claimIntervalMs ?? Math.min(Math.max(claimIdleMs / 2, 100), 30_000);
  const maxDeliveries = options.maxDeliveries ?? 5;
  const deadLetterStream = options.deadLetterStream ?? `${stream}:dead`;
  const deadLetterMaxLen = options.deadLetterMaxLen ?? 100_000;
  const startId = options.startId ?? '$';
  // Without `decode` the overloads guarantee T is Record<string, string>.
  const decode = options.decode ?? ((fields: string[]) => fieldsToRecord(fields) as T);
  const logger = options.logger ?? silentLogger;
  const atomicDeadLetter = canMoveAtomically(redis, stream, deadLetterStream);

  const counters = { delivered: 0, acked: 0, failed: 0, reclaimed: 0, deadLettered: 0, trimmed: 0, redisErrors: 0 };
  const lastErrors = new Map<string, string>();
  let started: Promise<void> | undefined;
  let loop: Promise<void> | undefined;
  let blocking: BlockingConnection | undefined;
  let stopping = false;
  let wakeSleeper: (() => void) | undefined;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wakeSleeper = undefined;
        resolve();
      }
      wakeSleeper = done;
    });

  const rememberError = (id: string, message: string): void => {
    if (lastErrors.size >= MAX_REMEMBERED_ERRORS) {
      const oldest = lastErrors.keys().next();
      if (!oldest.done) lastErrors.delete(oldest.value);
    }
    lastErrors.set(id, message);
  };

  async function createGroup(): Promise<void> {
    try {
      await redis.call('XGROUP', 'CREATE', stream, group, startId, 'MKSTREAM');
      logger.info({ stream, group, startId }, 'consumer group created');
    } catch (error) {
      if (!messageOf(error).startsWith('BUSYGROUP')) throw error;
    }
  }

  function ack(id: string): Promise<void> {
    return redis.call('XACK', stream, group, id).then(
      () => {
        counters.acked += 1;
        lastErrors.delete(id);
      },
      (error: unknown) => {
        // The entry stays pending and comes back after claimIdleMs: at-least-once.
        counters.redisErrors += 1;
        logger.warn({ stream, group, id, err: messageOf(error) }, 'XACK failed; the entry will be delivered again');
      },
    );
  }

  /** Delivery counts of entries this consumer holds in its pending list (one XPENDING each, pipelined). */
  async function deliveryCounts(entries: readonly RawStreamEntry[]): Promise<Map<string, number>> {
    const rows = await Promise.all(
      entries.map(async (entry) => parsePendingRows(await redis.call('XPENDING', stream, group, entry.id, entry.id, 1, consumer))[0]),
    );
    const counts = new Map<string, number>();
    for (const row of rows) if (row !== undefined) counts.set(row.id, row.deliveries);
    return counts;
  }

  async function moveToDeadLetters(id: string): Promise<void> {
    const request: DeadLetterRequest = {
      stream,
      deadLetterStream,
      group,
      consumer,
      id,
      maxDeliveries,
      deadLetterMaxLen,
      error: lastErrors.get(id) ?? '',
    };
    const outcome = atomicDeadLetter ? await deadLetterAtomically(redis, request) : await deadLetterSeparately(redis, request);
    if (outcome.moved) {
      counters.deadLettered += 1;
      lastErrors.delete(id);
      logger.warn({ stream, group, id, deadLetterStream, deadLetterId: outcome.deadLetterId }, 'entry moved to the dead-letter stream');
    } else {
      logger.debug({ stream, group, id, reason: outcome.reason }, 'entry not dead-lettered');
    }
  }

  /**
   * Handles entries in order, acking each as soon as its handler resolves (the XACKs are pipelined,
   * then awaited together). `redelivered` entries come from a pending list: their delivery count is
   * looked up, and those over the limit go to the dead-letter stream instead of the handler.
   */
  async function handleEntries(entries: readonly RawStreamEntry[], redelivered: boolean): Promise<void> {
    if (entries.length === 0) return;
    const counts = redelivered ? await deliveryCounts(entries) : undefined;
    const acks: Promise<void>[] = [];
    try {
      for (const entry of entries) {
        if (stopping) break;
        if (entry.fields === null) {
          counters.trimmed += 1;
          logger.warn({ stream, group, id: entry.id }, 'pending entry was trimmed from the stream; acking it');
          acks.push(ack(entry.id));
          continue;
        }
        let deliveries = 1;
        if (counts !== undefined) {
          const count = counts.get(entry.id);
          if (count === undefined) continue; // no longer ours (acked or claimed meanwhile)
          deliveries = count;
          if (count - 1 >= maxDeliveries) {
            await moveToDeadLetters(entry.id);
            continue;
          }
        }
        counters.delivered += 1;
        try {
          await handler({ id: entry.id, fields: decode(entry.fields), deliveries });
        } catch (error) {
          counters.failed += 1;
          const message = messageOf(error);
          rememberError(entry.id, message);
          logger.warn({ stream, group, id: entry.id, deliveries, err: message }, 'handler failed; the entry stays pending');
          continue;
        }
        acks.push(ack(entry.id));
      }
    } finally {
      await Promise.all(acks);
    }
  }

  /** Its own pending list first (entries read before a crash or restart under the same name). */
  async function drainOwnPending(): Promise<void> {
    let after = '0';
    while (!stopping) {
      const reply = await redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', batchSize, 'STREAMS', stream, after);
      const entries = parseReadReply(reply);
      const last = entries[entries.length - 1];
      if (last === undefined) return;
      await handleEntries(entries, true);
      after = last.id;
    }
  }

  /** Claims entries idle longer than claimIdleMs from any consumer (XAUTOCLAIM, following the cursor). */
  async function reclaimIdle(): Promise<void> {
    let cursor = '0-0';
    for (let page = 0; page < MAX_CLAIM_PAGES_PER_ROUND && !stopping; page += 1) {
      const reply = await redis.call('XAUTOCLAIM', stream, group, consumer, claimIdleMs, cursor, 'COUNT', batchSize);
      const claimed = parseAutoClaimReply(reply);
      if (claimed.deletedIds.length > 0) {
        // Redis has already removed them from the pending list.
        counters.trimmed += claimed.deletedIds.length;
        logger.warn({ stream, group, ids: claimed.deletedIds }, 'pending entries were trimmed from the stream before being handled');
      }
      counters.reclaimed += claimed.entries.length;
      if (claimed.entries.length > 0) logger.info({ stream, group, count: claimed.entries.length }, 'claimed idle entries');
      await handleEntries(claimed.entries, true);
      cursor = claimed.cursor;
      if (cursor === '0-0') return;
    }
  }

  async function readNew(connection: BlockingConnection, blockFor: number): Promise<RawStreamEntry[]> {
    const reply = await connection.read('XREADGROUP', 'GROUP', group, consumer, 'COUNT', batchSize, 'BLOCK', blockFor, 'STREAMS', stream, '>');
    return parseReadReply(reply);
  }

  async function run(connection: BlockingConnection): Promise<void> {
    let backoffMs = 0;
    let drained = false;
    let nextReclaimAt = 0;
    while (!stopping) {
      try {
        if (!drained) {
          await drainOwnPending();
          drained = true;
        }
        if (Date.now() >= nextReclaimAt) {
          await reclaimIdle();
          nextReclaimAt = Date.now() + claimIntervalMs;
        }
        if (stopping) break;
        // Wake up in time for the next reclaim round: no timer runs beside the loop.
        const entries = await readNew(connection, Math.max(1, Math.min(blockMs, nextReclaimAt - Date.now())));
        await handleEntries(entries, false);
        backoffMs = 0;
      } catch (error) {
        if (stopping) break;
        counters.redisErrors += 1;
        const message = messageOf(error);
        backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs === 0 ? 100 : backoffMs * 2);
        logger.error({ stream, group, consumer, err: message, retryInMs: backoffMs }, 'stream consumer error; retrying');
        await sleep(backoffMs);
        if (message.startsWith('NOGROUP')) {
          // The stream or the group was deleted under us: recreate both.
          await createGroup().catch((again: unknown) => logger.error({ stream, group, err: messageOf(again) }, 'cannot recreate the group'));
        }
      }
    }
  }

  async function startOnce(): Promise<void> {
    let backoffMs = 100;
    for (;;) {
      if (stopping) return;
      try {
        await createGroup();
        break;
      } catch (error) {
        if (isReplyError(error)) throw error;
        counters.redisErrors += 1;
        logger.error({ stream, group, err: messageOf(error), retryInMs: backoffMs }, 'cannot create the consumer group; retrying');
        await sleep(backoffMs);
        backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
      }
    }
    if (stopping) return;
    const connection = createBlockingConnection(redis, (error: unknown) =>
      logger.debug({ stream, group, err: messageOf(error) }, 'blocking connection error'),
    );
    blocking = connection;
    loop = run(connection);
  }

  return {
    start(): Promise<void> {
      started ??= startOnce();
      return started;
    },
    async stop(): Promise<void> {
      stopping = true;
      wakeSleeper?.();
      // A blocked XREADGROUP would hold the loop for up to blockMs: end it now. Entries it returns
      // anyway are not handed to the handler; they stay pending (and are reclaimed later).
      await blocking?.interrupt();
      await started?.catch(() => undefined);
      await loop;
      await blocking?.close();
    },
    stats(): StreamConsumerStats {
      return { running: loop !== undefined && !stopping, ...counters };
    },
  };
}
