import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { ComponentMetrics } from '../../../src/observability/metrics.js';
import type { NormalizedEvent } from '../../../src/parse/event.js';
import type { DeadLetter, Sink } from '../../../src/runtime/contracts.js';
import { startPrivateRedis } from '../../../src/runtime/redis-server.js';
import {
  RedisStreamsSinkError,
  createRedisStreamsSink,
  redisStreamsSinkSchema,
  type RedisStreamsWriteStrategy,
} from '../../../src/sinks/redis-streams.js';
import { testRedisClient, testRedisUrl, uniquePrefix } from '../../support/redis.js';

const logger = pino({ level: 'silent' });

interface CountingMetrics extends ComponentMetrics {
  readonly counts: { sentEvents: number; sentBytes: number; errors: number };
}

function countingMetrics(): CountingMetrics {
  const counts = { sentEvents: 0, sentBytes: 0, errors: 0 };
  return {
    counts,
    receivedEvents: () => {},
    receivedBytes: () => {},
    sentEvents: (count = 1) => {
      counts.sentEvents += count;
    },
    sentBytes: (count) => {
      counts.sentBytes += count;
    },
    dropped: () => {},
    error: (_stage, count = 1) => {
      counts.errors += count;
    },
  };
}

function event(index: number, extra: string[] = []): NormalizedEvent {
  return {
    fields: [
      '@timestamp', new Date(Date.UTC(2026, 11, 4, 19, 23, 1) + index).toISOString(),
      'event.action', 'accept',
      'source.ip', `10.1.1.${index % 250}`,
      'source.port', String(40_000 + index),
      'fortinet.firewall.seq', String(index),
      ...extra,
    ],
    timeMs: Date.UTC(2026, 11, 4, 19, 23, 1) + index,
  };
}

function deadLetter(raw: Buffer, overrides: Partial<DeadLetter> = {}): DeadLetter {
  return {
    code: 'no_fields',
    reason: 'no key=value pairs found',
    stage: 'parse',
    source: 'syslog_tcp',
    peer: '192.0.2.7:51514',
    receivedAtMs: Date.UTC(2026, 11, 4, 19, 23, 1, 250),
    raw,
    ...overrides,
  };
}

/** XRANGE as [id, flat fields][] (RESP3 with the default legacy mapping still gives arrays). */
async function entries(redis: Redis, key: string): Promise<string[][]> {
  const rows = await redis.xrange(key, '-', '+');
  return rows.map(([, fields]) => fields);
}

const STRATEGIES: readonly RedisStreamsWriteStrategy[] = ['lua', 'pipeline', 'lua_packed', 'resp'];

describe('redis_streams sink', () => {
  const redis = testRedisClient();
  /** Sinks with their own (resp) connection, closed at the end. */
  const opened: Sink[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((sink) => sink.close()));
    await redis.quit();
  });

  function sinkFor(prefix: string, overrides: Record<string, unknown> = {}, strategy?: RedisStreamsWriteStrategy) {
    const settings = redisStreamsSinkSchema.parse({
      type: 'redis_streams',
      stream: `${prefix}events`,
      dead_letter_stream: `${prefix}dead`,
      ...overrides,
    });
    const metrics = countingMetrics();
    const sink = createRedisStreamsSink({
      name: 'soc',
      redis,
      settings,
      metrics,
      logger,
      ...(strategy ? { strategy } : {}),
      ...(strategy === 'resp' ? { url: testRedisUrl() } : {}),
    });
    opened.push(sink);
    return { sink, metrics, settings };
  }

  it('applies the documented defaults and rejects unknown options', () => {
    const settings = redisStreamsSinkSchema.parse({ type: 'redis_streams' });
    expect(settings).toEqual({
      type: 'redis_streams',
      stream: 'events:soc',
      max_len: 1_000_000,
      dead_letter_stream: 'dead',
      dead_letter_max_len: 100_000,
      max_raw_bytes: 4096,
      batch_max_events: 1000,
    });
    expect(() => redisStreamsSinkSchema.parse({ type: 'redis_streams', maxlen: 5 })).toThrow();
    expect(() => redisStreamsSinkSchema.parse({ type: 'redis_streams', max_len: 0 })).toThrow();
  });

  for (const strategy of STRATEGIES) {
    describe(`strategy ${strategy}`, () => {
      it('appends entries in order with exactly the given fields, and counts them', async () => {
        const prefix = uniquePrefix('sink');
        const { sink, metrics } = sinkFor(prefix, {}, strategy);
        const batch = Array.from({ length: 1200 }, (_, i) => event(i));
        await sink.write({ events: batch.slice(0, 700), dead: [] });
        await sink.write({ events: batch.slice(700), dead: [] });
        const stored = await entries(redis, `${prefix}events`);
        expect(stored).toHaveLength(1200);
        expect(stored).toEqual(batch.map((e) => e.fields));
        expect(metrics.counts.sentEvents).toBe(1200);
        const bytes = batch.reduce((sum, e) => sum + e.fields.reduce((s, f) => s + Buffer.byteLength(f), 0), 0);
        expect(metrics.counts.sentBytes).toBe(bytes);
        expect(await redis.exists(`${prefix}dead`)).toBe(0);
        await redis.del(`${prefix}events`);
      });

      it('stores spaces, quotes, newlines, unicode, empty strings and long values byte-exact', async () => {
        const prefix = uniquePrefix('sink');
        const { sink } = sinkFor(prefix, {}, strategy);
        const tricky = event(1, [
          'message', 'a "quoted" \'single\' value with  spaces ',
          'multi.line', 'line1\nline2\r\nline3\t\u0000end',
          'user.name', 'Jürgen Müller ✓ 日本語 🚀',
          'empty', '',
          'backslash', 'C:\\path\\x41 \\"',
          'long', 'x'.repeat(70_000),
          'resp.like', '$3\r\nfoo\r\n*1\r\n',
        ]);
        await sink.write({ events: [tricky, event(2)], dead: [] });
        const raw = await redis.xrangeBuffer(`${prefix}events`, '-', '+');
        expect(raw).toHaveLength(2);
        const stored = raw[0]?.[1] ?? [];
        expect(stored.map((b) => b.toString('utf8'))).toEqual(tricky.fields);
        expect(Buffer.concat(stored)).toEqual(Buffer.concat(tricky.fields.map((f) => Buffer.from(f, 'utf8'))));
        await redis.del(`${prefix}events`);
      });

      it('caps the stream approximately with MAXLEN ~', async () => {
        const prefix = uniquePrefix('sink');
        const { sink } = sinkFor(prefix, { max_len: 500, dead_letter_max_len: 200 }, strategy);
        for (let round = 0; round < 6; round += 1) {
          const events = Array.from({ length: 1000 }, (_, i) => event(round * 1000 + i));
          const dead = Array.from({ length: 300 }, (_, i) => deadLetter(Buffer.from(`bad line ${i}`)));
          await sink.write({ events, dead });
        }
        const length = await redis.xlen(`${prefix}events`);
        expect(length).toBeGreaterThanOrEqual(500);
        // Approximate trimming removes whole radix-tree nodes (100 entries by default): near the cap.
        expect(length).toBeLessThan(500 + 300);
        const deadLength = await redis.xlen(`${prefix}dead`);
        expect(deadLength).toBeGreaterThanOrEqual(200);
        expect(deadLength).toBeLessThan(200 + 300);
        // What is left is the newest entries.
        const last = await redis.xrevrange(`${prefix}events`, '+', '-', 'COUNT', 1);
        expect(last[0]?.[1]).toEqual(event(5999).fields);
        await redis.del(`${prefix}events`, `${prefix}dead`);
      });

      it('writes events and dead letters of one batch together', async () => {
        const prefix = uniquePrefix('sink');
        const { sink, metrics } = sinkFor(prefix, {}, strategy);
        await sink.write({
          events: [event(1), event(2), event(3)],
          dead: [deadLetter(Buffer.from('first')), deadLetter(Buffer.from('second'), { code: 'binary' })],
        });
        expect(await entries(redis, `${prefix}events`)).toEqual([event(1).fields, event(2).fields, event(3).fields]);
        const dead = await entries(redis, `${prefix}dead`);
        expect(dead.map((fields) => fields[fields.indexOf('raw') + 1])).toEqual(['first', 'second']);
        expect(dead.map((fields) => fields[fields.indexOf('code') + 1])).toEqual(['no_fields', 'binary']);
        expect(metrics.counts.sentEvents).toBe(3);
        await redis.del(`${prefix}events`, `${prefix}dead`);
      });
    });
  }

  it('writes dead letters with every field, escaped control characters and the raw cap', async () => {
    const prefix = uniquePrefix('sink');
    const { sink } = sinkFor(prefix, { max_raw_bytes: 40 });
    const evil = Buffer.concat([
      Buffer.from('<189>date=2026\nmsg="x\r\ty"\u001b[31m\\'),
      Buffer.from([0x00, 0xff]),
      Buffer.from('tail'),
    ]);
    const long = Buffer.from(`<189>${'k=v '.repeat(100)}`);
    await sink.write({ events: [], dead: [deadLetter(evil), deadLetter(long, { code: 'too_many_fields', stage: 'validate' })] });
    const dead = await entries(redis, `${prefix}dead`);
    expect(dead).toHaveLength(2);
    const asObject = (fields: string[]) => Object.fromEntries(Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i], fields[2 * i + 1]]));
    expect(asObject(dead[0] ?? [])).toEqual({
      reason: 'no key=value pairs found',
      code: 'no_fields',
      stage: 'parse',
      source: 'syslog_tcp',
      peer: '192.0.2.7:51514',
      received_at: '2026-12-04T19:23:01.250Z',
      raw: '<189>date=2026\\nmsg="x\\r\\ty"\\x1b[31m\\\\\\x00\ufffdtail',
      raw_bytes: String(evil.length),
      raw_truncated: 'false',
    });
    // The exact order of fields is part of the contract too.
    expect(dead[0]?.filter((_, i) => i % 2 === 0)).toEqual([
      'reason', 'code', 'stage', 'source', 'peer', 'received_at', 'raw', 'raw_bytes', 'raw_truncated',
    ]);
    expect(asObject(dead[1] ?? [])).toMatchObject({
      code: 'too_many_fields',
      stage: 'validate',
      raw: long.subarray(0, 40).toString('utf8'),
      raw_bytes: String(long.length),
      raw_truncated: 'true',
    });
    for (const fields of dead) for (const value of fields) expect(value).not.toMatch(/[\u0000-\u001f\u007f]/);
    expect(await redis.exists(`${prefix}events`)).toBe(0);
    await redis.del(`${prefix}dead`);
  });

  it('does nothing for an empty batch (not even a round trip)', async () => {
    const prefix = uniquePrefix('sink');
    const own = testRedisClient();
    try {
      const settings = redisStreamsSinkSchema.parse({ type: 'redis_streams', stream: `${prefix}events`, dead_letter_stream: `${prefix}dead` });
      const metrics = countingMetrics();
      const sink = createRedisStreamsSink({ name: 'soc', redis: own, settings, metrics, logger });
      const id = await own.client('ID');
      await own.ping();
      await sink.write({ events: [], dead: [] });
      expect(await redis.exists(`${prefix}events`, `${prefix}dead`)).toBe(0);
      expect(metrics.counts).toEqual({ sentEvents: 0, sentBytes: 0, errors: 0 });
      // The sink's connection last ran our PING: the empty write sent nothing.
      const info = String(await redis.client('LIST', 'ID', String(id)));
      expect(info).toMatch(/ cmd=ping /);
    } finally {
      await own.quit();
    }
  });

  it('splits a batch larger than batch_max_events into several round trips, keeping the order', async () => {
    const prefix = uniquePrefix('sink');
    const { sink, metrics } = sinkFor(prefix, { batch_max_events: 100 });
    const batch = Array.from({ length: 350 }, (_, i) => event(i));
    const dead = Array.from({ length: 120 }, (_, i) => deadLetter(Buffer.from(`dead ${i}`)));
    await sink.write({ events: batch, dead });
    expect(await entries(redis, `${prefix}events`)).toEqual(batch.map((e) => e.fields));
    const storedDead = await entries(redis, `${prefix}dead`);
    expect(storedDead.map((fields) => fields[fields.indexOf('raw') + 1])).toEqual(dead.map((_, i) => `dead ${i}`));
    expect(metrics.counts.sentEvents).toBe(350);
    await redis.del(`${prefix}events`, `${prefix}dead`);
  });

  it('splits one huge batch into several script calls (small maxStringsPerCall) without losing order', async () => {
    const prefix = uniquePrefix('sink');
    const settings = redisStreamsSinkSchema.parse({ type: 'redis_streams', stream: `${prefix}events`, dead_letter_stream: `${prefix}dead` });
    const sink = createRedisStreamsSink({ name: 'soc', redis, settings, metrics: countingMetrics(), logger, maxStringsPerCall: 25 });
    const batch = Array.from({ length: 97 }, (_, i) => event(i, i % 3 === 0 ? ['big', 'y'.repeat(10), 'more', 'z'] : []));
    await sink.write({ events: batch, dead: [] });
    expect(await entries(redis, `${prefix}events`)).toEqual(batch.map((e) => e.fields));
    await redis.del(`${prefix}events`);
  });

  it('rejects with a clear error when Redis is down, and counts the error', async () => {
    const server = await startPrivateRedis();
    const client = new Redis(server.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => null });
    client.on('error', () => {});
    await new Promise((resolve) => client.once('ready', resolve));
    try {
      const prefix = uniquePrefix('down');
      const settings = redisStreamsSinkSchema.parse({ type: 'redis_streams', stream: `${prefix}events`, dead_letter_stream: `${prefix}dead` });
      const metrics = countingMetrics();
      const sink = createRedisStreamsSink({ name: 'soc', redis: client, settings, metrics, logger });
      await sink.write({ events: [event(1)], dead: [] });
      await server.stop();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const attempt = sink.write({ events: [event(2), event(3)], dead: [deadLetter(Buffer.from('x'))] });
      await expect(attempt).rejects.toBeInstanceOf(RedisStreamsSinkError);
      await expect(attempt).rejects.toThrow(
        new RegExp(`redis_streams sink "soc": writing 2 event\\(s\\) to "${prefix}events" and 1 dead letter\\(s\\) to "${prefix}dead" failed: .+`),
      );
      expect(metrics.counts.errors).toBeGreaterThanOrEqual(1);
      expect(metrics.counts.sentEvents).toBe(1);
    } finally {
      client.disconnect();
      await server.stop();
    }
  });
});
