import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Histogram } from 'prom-client';
import { z } from 'zod';
import type { ComponentMetrics } from '../observability/metrics.js';
import type { NormalizedEvent } from '../parse/event.js';
import type { DeadLetter, SinkBatch } from '../runtime/contracts.js';
import { isEncodedBatch, type EncodingSink, type SinkEncoder } from '../runtime/pipeline.js';
import { safeRawText } from './escape.js';
import { createRespBatchWriter } from './resp/batch-writer.js';
import type { RespTlsOptions } from './resp/connection.js';
import {
  defineSinkCommands,
  enqueueLuaChunks,
  enqueuePackedChunks,
  enqueueXaddPerEntry,
  type Enqueue,
  type EntryFields,
} from './xadd-enqueue.js';

export const redisStreamsSinkSchema = z.strictObject({
  type: z.literal('redis_streams').describe('Writes events to a Redis Stream (XADD), dead letters to another'),
  stream: z
    .string()
    .min(1)
    .default('events:soc')
    .describe('Stream the events are appended to, after the key prefix (`events:soc` → `fortistream:events:soc`)'),
  max_len: z
    .number()
    .int()
    .positive()
    .default(1_000_000)
    .describe('Approximate cap on the stream length (`XADD … MAXLEN ~ max_len`)'),
  dead_letter_stream: z
    .string()
    .min(1)
    .default('dead')
    .describe('Stream dead letters are appended to, after the key prefix (`dead` → `fortistream:dead`)'),
  dead_letter_max_len: z
    .number()
    .int()
    .positive()
    .default(100_000)
    .describe('Approximate cap on the dead-letter stream length (`MAXLEN ~`)'),
  max_raw_bytes: z
    .number()
    .int()
    .nonnegative()
    .default(4096)
    .describe('How many bytes of a dead line are kept in the `raw` field (the rest is cut, `raw_truncated=true`)'),
  batch_max_events: z
    .number()
    .int()
    .positive()
    .default(1000)
    .describe('Most events written in one round trip; larger batches are split into several'),
});

export type RedisStreamsSinkSettings = z.infer<typeof redisStreamsSinkSchema>;

/**
 * How a batch goes to Redis (numbers: bench/scenarios/sink-xadd.mjs). `resp` (the default when the
 * sink has a `url`): the sink's own socket, every XADD of a batch pre-encoded as RESP2 into one buffer
 * and sent in one write, replies only counted; the cheapest for Node by far and as cheap as plain XADDs
 * for Redis. `lua_packed` (the default without a `url`): one script call per chunk of entries, sent as
 * one MessagePack blob unpacked with `cmsgpack`. `lua`: the same with the entries flattened into ARGV.
 * `pipeline`: one XADD per entry in one ioredis pipeline, no scripting.
 */
export type RedisStreamsWriteStrategy = 'lua' | 'pipeline' | 'lua_packed' | 'resp';

export interface RedisStreamsSinkOptions {
  name: string;
  redis: Redis;
  settings: RedisStreamsSinkSettings;
  metrics: ComponentMetrics;
  logger: Logger;
  redisLatency?: Histogram<'operation'>;
  /**
   * The write strategy: `resp` when `url` is given, else `lua_packed`. `resp` without `url` falls back
   * to `pipeline`.
   */
  strategy?: RedisStreamsWriteStrategy;
  /** Redis URL for the `resp` strategy's own connection (`redis://[[user]:pass@]host:port[/db]`, `rediss://`). */
  url?: string;
  /** TLS options for a `rediss://` url (ca, cert, key, rejectUnauthorized, servername). */
  tls?: RespTlsOptions;
  /**
   * `resp` only: entries get explicit ids, so a batch sent again (a retry after a lost reply, a spool
   * replay after a restart) is skipped by Redis, not duplicated: the id of each entry's frame
   * (runtime/sequence.ts) for batches of the pipeline, else this sink's own `<ms>-<seq>` counter.
   * The sink must be its streams' only writer (see resp/batch-writer.ts).
   */
  explicitIds?: boolean;
  /** Benchmarks and tests only, `resp`: `MAXLEN ~` on every XADD (`each`, default) or on the last of a trip. */
  respTrim?: 'each' | 'last';
  /** Benchmarks and tests only: most strings (names + values) in one script call (default 40,000). */
  maxStringsPerCall?: number;
}

/** Raised (as the rejection of `write`) when Redis could not be reached or refused the batch. */
export class RedisStreamsSinkError extends Error {
  override readonly name = 'RedisStreamsSinkError';
  readonly code = 'sink_write_failed';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

function deadLetterFields(letter: DeadLetter, maxRawBytes: number): string[] {
  const raw = safeRawText(letter.raw, maxRawBytes);
  return [
    'reason', letter.reason,
    'code', letter.code,
    'stage', letter.stage,
    'source', letter.source,
    'peer', letter.peer,
    'received_at', isoTime(letter.receivedAtMs),
    'raw', raw.text,
    'raw_bytes', String(raw.bytes),
    'raw_truncated', raw.truncated ? 'true' : 'false',
  ];
}

function isoTime(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
}

/** Sum of the UTF-8 lengths of the strings: what the sent-bytes counter reports. */
function entryBytes(fields: EntryFields): number {
  let bytes = 0;
  for (let i = 0; i < fields.length; i += 1) bytes += Buffer.byteLength(fields[i] as string, 'utf8');
  return bytes;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The Redis Streams sink: each batch becomes one pipeline (one round trip) that appends the events to
 * `stream` and the dead letters to `dead_letter_stream`, every append capped with `MAXLEN ~`.
 */
export function createRedisStreamsSink(options: RedisStreamsSinkOptions): EncodingSink {
  const { name, redis, settings, metrics, logger, redisLatency } = options;
  const requested = options.strategy ?? (options.url === undefined ? 'lua_packed' : 'resp');
  const strategy: RedisStreamsWriteStrategy = requested === 'resp' && options.url === undefined ? 'pipeline' : requested;
  if (options.explicitIds === true && strategy !== 'resp') {
    throw new Error(`redis_streams sink "${name}": explicit ids need the resp strategy and a url`);
  }
  const maxStringsPerCall = options.maxStringsPerCall ?? 40_000;
  const log = logger.child({ component: name, kind: 'redis_streams' });
  if (strategy === 'lua' || strategy === 'lua_packed') defineSinkCommands(redis);
  const enqueue: Enqueue =
    strategy === 'pipeline'
      ? enqueueXaddPerEntry
      : strategy === 'lua_packed'
        ? enqueuePackedChunks(maxStringsPerCall)
        : enqueueLuaChunks(maxStringsPerCall);
  const latency = redisLatency?.labels('sink_xadd');

  async function writeOnce(events: readonly NormalizedEvent[], dead: readonly DeadLetter[]): Promise<void> {
    const pipeline = redis.pipeline();
    if (events.length > 0) {
      const entries: EntryFields[] = new Array<EntryFields>(events.length);
      for (let i = 0; i < events.length; i += 1) entries[i] = (events[i] as NormalizedEvent).fields;
      enqueue(pipeline, settings.stream, settings.max_len, entries);
    }
    if (dead.length > 0) {
      const entries = dead.map((letter) => deadLetterFields(letter, settings.max_raw_bytes));
      enqueue(pipeline, settings.dead_letter_stream, settings.dead_letter_max_len, entries);
    }
    const started = process.hrtime.bigint();
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await pipeline.exec();
    } catch (error) {
      throw failure(events.length, dead.length, error);
    }
    latency?.observe(Number(process.hrtime.bigint() - started) / 1e9);
    if (replies === null) throw failure(events.length, dead.length, new Error('pipeline was discarded'));
    for (const [error] of replies) {
      if (error) throw failure(events.length, dead.length, error);
    }
  }

  function failure(events: number, dead: number, cause: unknown): RedisStreamsSinkError {
    metrics.error('write');
    const message =
      `redis_streams sink "${name}": writing ${events} event(s) to "${settings.stream}" and ${dead} dead letter(s) ` +
      `to "${settings.dead_letter_stream}" failed: ${errorMessage(cause)}`;
    log.warn({ err: errorMessage(cause), events, dead }, 'redis write failed');
    return new RedisStreamsSinkError(message, { cause });
  }

  const resp =
    strategy === 'resp' && options.url !== undefined
      ? createRespBatchWriter({
          url: options.url,
          ...(options.tls ? { tls: options.tls } : {}),
          explicitIds: options.explicitIds === true,
          trim: options.respTrim ?? 'each',
          stream: { key: settings.stream, maxLen: settings.max_len },
          deadStream: { key: settings.dead_letter_stream, maxLen: settings.dead_letter_max_len },
          perTrip: settings.batch_max_events,
          redis,
          deadFields: (letter) => deadLetterFields(letter, settings.max_raw_bytes),
          failure,
          duplicates: (count) => metrics.dropped('duplicate', count),
          latency,
        })
      : undefined;

  return {
    name,
    encoder(): SinkEncoder | undefined {
      return resp?.encoder();
    },
    async write(batch: SinkBatch): Promise<void> {
      if (resp !== undefined && isEncodedBatch(batch) && resp.owns(batch.encoded)) {
        if (batch.eventCount === 0 && batch.dead.length === 0) return;
        const bytes = await resp.writeEncoded(batch, batch.encoded);
        metrics.sentEvents(batch.eventCount);
        metrics.sentBytes(bytes);
        return;
      }
      const { events, dead } = batch;
      if (events.length === 0 && dead.length === 0) return;
      if (resp !== undefined) {
        const bytes = await resp.write(batch);
        metrics.sentEvents(events.length);
        metrics.sentBytes(bytes);
        return;
      }
      const perTrip = settings.batch_max_events;
      if (events.length <= perTrip && dead.length <= perTrip) {
        await writeOnce(events, dead);
      } else {
        // Over-sized batch: several round trips, in order, so the entries keep the batch's order.
        const trips = Math.ceil(Math.max(events.length, dead.length) / perTrip);
        for (let trip = 0; trip < trips; trip += 1) {
          const from = trip * perTrip;
          await writeOnce(events.slice(from, from + perTrip), dead.slice(from, from + perTrip));
        }
      }
      let bytes = 0;
      for (const event of events) bytes += entryBytes(event.fields);
      metrics.sentEvents(events.length);
      metrics.sentBytes(bytes);
    },
    async close(): Promise<void> {
      // The sink does not own `redis` (the runtime that created it quits it), only its resp socket.
      await resp?.close();
    },
  };
}
