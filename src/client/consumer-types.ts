/** The consumer kit's contract: entries, handlers, options and stats of `createStreamConsumer` (consumer.ts). */

import type { ConsumerRedis } from './dead-letter.js';

/** One entry handed to a handler. */
export interface StreamEntry<T> {
  /** The stream entry id (`<ms>-<seq>`): unique and stable, the key to dedupe on. */
  readonly id: string;
  readonly fields: T;
  /** How many times the group has delivered this entry, this delivery included (1 on the first). */
  readonly deliveries: number;
}

/** Handles one entry. Resolve = done (the entry is acked); throw/reject = not done (stays pending). */
export type StreamEntryHandler<T> = (entry: StreamEntry<T>) => void | Promise<void>;

/** The subset of a pino logger the consumer uses (any pino logger fits). */
export interface ConsumerLogger {
  debug(details: object, message: string): void;
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface StreamConsumerOptions<T> {
  /** Client for every command except the blocking read (which runs on `redis.duplicate()`). */
  readonly redis: ConsumerRedis;
  /** Full key of the stream, e.g. `fortistream:events:ml` (no prefix is added). */
  readonly stream: string;
  readonly group: string;
  /** Unique and stable per process (e.g. host name + worker index): a restart with the same name resumes its own pending entries. */
  readonly consumer: string;
  readonly handler: StreamEntryHandler<T>;
  /** Entries per read / per claim page. Default 100. */
  readonly batchSize?: number;
  /** Longest a read blocks waiting for new entries. Default 5000. */
  readonly blockMs?: number;
  /**
   * An entry pending this long (its consumer died, or its handler failed) is claimed by whichever
   * consumer of the group reclaims next, and handled again. Must exceed the time one batch takes
   * to handle, or live consumers' entries get claimed too (still correct, but handled twice). Default 60000.
   */
  readonly claimIdleMs?: number;
  /** How often to look for idle entries. Default claimIdleMs / 2, between 100 ms and 30 s. */
  readonly claimIntervalMs?: number;
  /** An entry already delivered this many times is moved to the dead-letter stream instead of being handled again. Default 5. */
  readonly maxDeliveries?: number;
  /** Default `<stream>:dead`. On Redis Cluster give it the stream's hash tag so the move is atomic (see README). */
  readonly deadLetterStream?: string;
  /** Approximate cap of the dead-letter stream (`MAXLEN ~`); 0 = no cap. Default 100000. */
  readonly deadLetterMaxLen?: number;
  /** Where a group created by this consumer starts: `$` (only new entries, default) or `0` (whole stream). */
  readonly startId?: string;
  /** Turns the flat `[name, value, …]` list into `T`. Default: an object, a repeated name keeps its last value. */
  readonly decode?: (fields: string[]) => T;
  readonly logger?: ConsumerLogger;
}

export interface StreamConsumerStats {
  readonly running: boolean;
  /** Handler calls. */
  readonly delivered: number;
  /** Entries acknowledged after their handler resolved. */
  readonly acked: number;
  /** Handler (or decode) failures; the entry stayed pending. */
  readonly failed: number;
  /** Entries this consumer claimed from idle pending lists (its own included). */
  readonly reclaimed: number;
  readonly deadLettered: number;
  /** Pending entries whose data had been trimmed from the stream (`MAXLEN`): acked, not handled. */
  readonly trimmed: number;
  /** Redis errors seen by the loop (each retried after a backoff). */
  readonly redisErrors: number;
}

export interface StreamConsumer {
  /**
   * Creates the group if missing (`XGROUP CREATE … MKSTREAM`), then runs the loop in the background
   * and resolves. Rejects only when the group cannot be created for a reason retrying cannot fix
   * (e.g. the key holds another type). Calling it twice returns the first call's promise.
   */
  start(): Promise<void>;
  /**
   * Lets the handler in flight finish (and acks its entry), stops reading, closes the blocking
   * connection (not `redis`). Entries read but not handled stay pending, unacked. From inside a
   * handler, call it without awaiting it (awaiting would wait for the handler itself).
   */
  stop(): Promise<void>;
  stats(): StreamConsumerStats;
}
