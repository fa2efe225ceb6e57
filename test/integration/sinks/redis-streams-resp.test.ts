import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../../../src/parse/event.js';
import type { DeadLetter, Sink, SinkBatch } from '../../../src/runtime/contracts.js';
import type { EncodedSinkBatch } from '../../../src/runtime/pipeline.js';
import { startPrivateRedis, type PrivateRedis } from '../../../src/runtime/redis-server.js';
import {
  RedisStreamsSinkError,
  createRedisStreamsSink,
  redisStreamsSinkSchema,
  type RedisStreamsSinkOptions,
} from '../../../src/sinks/redis-streams.js';
import { SEQ_PER_MS, entryIdOf } from '../../../src/runtime/sequence.js';
import { testRedisClient, testRedisUrl, uniquePrefix } from '../../support/redis.js';

const logger = pino({ level: 'silent' });
const noMetrics = {
  receivedEvents: () => {},
  receivedBytes: () => {},
  sentEvents: () => {},
  sentBytes: () => {},
  dropped: () => {},
  error: () => {},
};

function event(index: number): NormalizedEvent {
  return {
    fields: ['event.action', 'accept', 'source.ip', `10.1.1.${index % 250}`, 'fortinet.firewall.seq', String(index)],
    timeMs: Date.UTC(2026, 11, 4, 19, 23, 1) + index,
  };
}

function deadLetter(text: string): DeadLetter {
  return {
    code: 'no_fields',
    reason: 'no key=value pairs found',
    stage: 'parse',
    source: 'syslog_tcp',
    peer: '192.0.2.7:51514',
    receivedAtMs: Date.UTC(2026, 11, 4, 19, 23, 1, 250),
    raw: Buffer.from(text),
  };
}

function seqs(rows: [string, string[]][]): string[] {
  return rows.map(([, fields]) => fields[fields.indexOf('fortinet.firewall.seq') + 1] ?? '');
}

describe('redis_streams sink, resp strategy', () => {
  const redis = testRedisClient();
  const sinks: Sink[] = [];
  const servers: PrivateRedis[] = [];
  afterAll(async () => {
    await Promise.all(sinks.map((sink) => sink.close()));
    await Promise.all(servers.map((server) => server.stop()));
    await redis.quit();
  });

  function respSink(
    prefix: string,
    url: string,
    extra: Partial<RedisStreamsSinkOptions> = {},
    client: Redis = redis,
    overrides: Record<string, unknown> = {},
  ): ReturnType<typeof createRedisStreamsSink> {
    const settings = redisStreamsSinkSchema.parse({
      type: 'redis_streams',
      stream: `${prefix}events`,
      dead_letter_stream: `${prefix}dead`,
      ...overrides,
    });
    const sink = createRedisStreamsSink({ name: 'soc', redis: client, settings, metrics: noMetrics, logger, strategy: 'resp', url, ...extra });
    sinks.push(sink);
    return sink;
  }

  it('is the default strategy when a url is given, and falls back to pipeline without one', async () => {
    const prefix = uniquePrefix('resp');
    const own = testRedisClient();
    try {
      const settings = redisStreamsSinkSchema.parse({ type: 'redis_streams', stream: `${prefix}events`, dead_letter_stream: `${prefix}dead` });
      const viaUrl = createRedisStreamsSink({ name: 'soc', redis: own, settings, metrics: noMetrics, logger, url: testRedisUrl() });
      const fallback = createRedisStreamsSink({ name: 'soc', redis: own, settings, metrics: noMetrics, logger, strategy: 'resp' });
      const id = String(await own.client('ID'));
      await viaUrl.write({ events: [event(1)], dead: [] });
      // The resp sink wrote through its own connection: the ioredis client ran no XADD.
      expect(String(await redis.client('LIST', 'ID', id))).not.toMatch(/ cmd=xadd /);
      await fallback.write({ events: [event(2)], dead: [] });
      expect(String(await redis.client('LIST', 'ID', id))).toMatch(/ cmd=(xadd|exec) /);
      expect(seqs(await redis.xrange(`${prefix}events`, '-', '+'))).toEqual(['1', '2']);
      await viaUrl.close();
      await fallback.close();
      expect(() =>
        createRedisStreamsSink({ name: 'soc', redis: own, settings, metrics: noMetrics, logger, strategy: 'lua', explicitIds: true }),
      ).toThrow(/explicit ids need the resp strategy/);
    } finally {
      await redis.del(`${prefix}events`);
      await own.quit();
    }
  });

  it('authenticates with a URL-decoded password (with and without a username) and refuses a wrong one', async () => {
    const server = await startPrivateRedis({ extraArgs: ['--requirepass', 'p@ss w'] });
    servers.push(server);
    const admin = new Redis({ port: server.port, host: '127.0.0.1', password: 'p@ss w' });
    try {
      const prefix = uniquePrefix('auth');
      await respSink(prefix, `redis://:p%40ss%20w@127.0.0.1:${server.port}`).write({ events: [event(1)], dead: [] });
      await respSink(prefix, `redis://default:p%40ss%20w@127.0.0.1:${server.port}`).write({ events: [event(2)], dead: [] });
      expect(seqs(await admin.xrange(`${prefix}events`, '-', '+'))).toEqual(['1', '2']);
      const wrong = respSink(prefix, `redis://:nope@127.0.0.1:${server.port}`);
      await expect(wrong.write({ events: [event(3)], dead: [] })).rejects.toThrow(/AUTH failed: WRONGPASS/);
      // And again (a new connection each time), never the password in the message.
      await expect(wrong.write({ events: [event(3)], dead: [] })).rejects.not.toThrow(/nope/);
      const none = respSink(prefix, `redis://127.0.0.1:${server.port}`);
      // Redis answers an unauthenticated XADD with NOAUTH, or (Redis 7, > 10 arguments) a protocol error.
      await expect(none.write({ events: [event(4)], dead: [] })).rejects.toThrow(/NOAUTH|unauthenticated/);
      expect(await admin.xlen(`${prefix}events`)).toBe(2);
    } finally {
      admin.disconnect();
    }
  });

  it('selects the database given in the URL', async () => {
    const server = await startPrivateRedis();
    servers.push(server);
    const db5 = new Redis(`${server.url}/5`);
    const db0 = new Redis(server.url);
    try {
      const prefix = uniquePrefix('db');
      await respSink(prefix, `${server.url}/5`).write({ events: [event(1), event(2)], dead: [] });
      expect(await db5.xlen(`${prefix}events`)).toBe(2);
      expect(await db0.exists(`${prefix}events`)).toBe(0);
    } finally {
      db5.disconnect();
      db0.disconnect();
    }
  });

  it('rejects the pending batches when Redis dies mid-write, and writes again once it is back on the same port', async () => {
    let server = await startPrivateRedis();
    servers.push(server);
    const port = server.port;
    const prefix = uniquePrefix('kill');
    const sink = respSink(prefix, server.url);
    await sink.write({ events: [event(0)], dead: [] });
    const big = Array.from({ length: 1000 }, (_, i) => ({ fields: [...event(i).fields, 'pad', 'x'.repeat(2000)], timeMs: 0 }));
    const writes = Array.from({ length: 20 }, () => sink.write({ events: big, dead: [] }));
    const outcomes = Promise.allSettled(writes);
    process.kill(server.pid, 'SIGKILL');
    const settled = await outcomes;
    const rejected = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) {
      expect(r.reason).toBeInstanceOf(RedisStreamsSinkError);
      expect(String(r.reason.message)).toMatch(new RegExp(`redis connection to 127\\.0\\.0\\.1:${port} lost`));
    }
    await server.stop();
    // While it is down: a clear rejection, no hang, no unhandled error.
    await expect(sink.write({ events: [event(1)], dead: [] })).rejects.toThrow(/ECONNREFUSED|lost/);
    server = await startPrivateRedis({ port });
    servers.push(server);
    await sink.write({ events: [event(2)], dead: [] });
    const fresh = new Redis(server.url);
    try {
      expect(seqs(await fresh.xrange(`${prefix}events`, '-', '+'))).toEqual(['2']);
    } finally {
      fresh.disconnect();
    }
  });

  it('rejects a batch with the Redis error text and keeps the connection usable', async () => {
    const prefix = uniquePrefix('wrongtype');
    await redis.set(`${prefix}dead`, 'a string, not a stream');
    const sink = respSink(prefix, testRedisUrl());
    const attempt = sink.write({ events: [event(1)], dead: [deadLetter('x'), deadLetter('y')] });
    await expect(attempt).rejects.toBeInstanceOf(RedisStreamsSinkError);
    await expect(attempt).rejects.toThrow(/failed: WRONGTYPE .*\(XADD of dead letter #0\) \(and 1 more error replies\)/);
    await sink.write({ events: [event(2)], dead: [] });
    expect(seqs(await redis.xrange(`${prefix}events`, '-', '+'))).toEqual(['1', '2']);
    await redis.del(`${prefix}events`, `${prefix}dead`);
  });

  describe('events encoded as they arrive (encoder)', () => {
    function encodedBatch(sink: ReturnType<typeof respSink>, events: NormalizedEvent[], dead: DeadLetter[] = []): EncodedSinkBatch {
      const encoded = sink.encoder();
      if (encoded === undefined) throw new Error('expected an encoder');
      for (const e of events) expect(encoded.add(e)).toBeGreaterThan(0);
      return { events: [], dead, encoded, eventCount: events.length };
    }

    it('writes exactly what the plain path writes (unicode, empty, long values), in trips of batch_max_events', async () => {
      const prefix = uniquePrefix('encoded');
      const sink = respSink(prefix, testRedisUrl(), {}, redis, { batch_max_events: 7 });
      const odd: NormalizedEvent = {
        fields: ['message', 'héllo "wörld" ✓ 😀', 'empty', '', 'long', 'x'.repeat(70_000), 'fortinet.firewall.seq', '-1'],
        timeMs: 0,
      };
      const events = [odd, ...Array.from({ length: 20 }, (_, i) => event(i))];
      await sink.write(encodedBatch(sink, events, [deadLetter('a'), deadLetter('b')]));
      const rows = await redis.xrange(`${prefix}events`, '-', '+');
      expect(rows.map(([, fields]) => fields)).toEqual(events.map((e) => e.fields));
      expect(await redis.xlen(`${prefix}dead`)).toBe(2);
      await redis.del(`${prefix}events`, `${prefix}dead`);
    });

    it('sends a failed batch again as it was, and refuses to send a confirmed one twice', async () => {
      const prefix = uniquePrefix('encoded-retry');
      await redis.set(`${prefix}events`, 'a string, not a stream');
      const sink = respSink(prefix, testRedisUrl());
      const batch = encodedBatch(sink, [event(1), event(2)]);
      await expect(sink.write(batch)).rejects.toThrow(/WRONGTYPE .*\(XADD of event #0\)/);
      await redis.del(`${prefix}events`);
      await sink.write(batch);
      expect(seqs(await redis.xrange(`${prefix}events`, '-', '+'))).toEqual(['1', '2']);
      await expect(sink.write(batch)).rejects.toThrow(/already written/);
      await redis.del(`${prefix}events`);
    });

    it('with explicit ids, encodes each event with its frame\'s id; a batch sent again, even by a new sink (a restart), adds nothing', async () => {
      const prefix = uniquePrefix('encoded-ids');
      const base = Date.now() * SEQ_PER_MS;
      const build = (sink: ReturnType<typeof respSink>, from: number, count: number): EncodedSinkBatch => {
        const encoded = sink.encoder();
        if (encoded === undefined) throw new Error('expected an encoder');
        const eventSeqs: number[] = [];
        for (let i = from; i < from + count; i += 1) {
          encoded.add(event(i), base + 2 * i);
          eventSeqs.push(base + 2 * i);
        }
        const dead = [{ ...deadLetter(`d${from}`), seq: base + 2 * from + 1 }];
        return { events: [], eventSeqs: [], dead, encoded, eventCount: count, firstSeq: base + 2 * from, lastSeq: base + 2 * (from + count - 1) + 1 };
      };
      const sink = respSink(prefix, testRedisUrl(), { explicitIds: true });
      await sink.write(build(sink, 0, 3));
      const restarted = respSink(prefix, testRedisUrl(), { explicitIds: true });
      await restarted.write(build(restarted, 0, 3));
      await restarted.write(build(restarted, 3, 2));
      const rows = await redis.xrange(`${prefix}events`, '-', '+');
      expect(seqs(rows)).toEqual(['0', '1', '2', '3', '4']);
      expect(rows.map(([id]) => id)).toEqual([0, 1, 2, 3, 4].map((i) => entryIdOf(base + 2 * i)));
      expect((await redis.xrange(`${prefix}dead`, '-', '+')).map(([id]) => id)).toEqual([entryIdOf(base + 1), entryIdOf(base + 7)]);
      await redis.del(`${prefix}events`, `${prefix}dead`);
    });
  });

  it('answers many batches in flight at once (replies split across TCP chunks) in order', async () => {
    const prefix = uniquePrefix('many');
    const sink = respSink(prefix, testRedisUrl());
    const batches = Array.from({ length: 60 }, (_, b) => Array.from({ length: 150 }, (_, i) => event(b * 150 + i)));
    await Promise.all(batches.map((events) => sink.write({ events, dead: [] })));
    const stored = seqs(await redis.xrange(`${prefix}events`, '-', '+'));
    expect(stored).toEqual(batches.flat().map((e) => String(e.fields[5])));
    await redis.del(`${prefix}events`);
  });

  describe('explicit ids', () => {
    it('gives strictly increasing ids and a retried batch leaves no duplicates', async () => {
      const prefix = uniquePrefix('ids');
      const sink = respSink(prefix, testRedisUrl(), { explicitIds: true });
      const first: SinkBatch = { events: [event(1), event(2)], dead: [deadLetter('d1')] };
      const second: SinkBatch = { events: Array.from({ length: 300 }, (_, i) => event(10 + i)), dead: [] };
      await sink.write(first);
      await sink.write(first);
      await sink.write(second);
      await sink.write(second);
      const rows = await redis.xrange(`${prefix}events`, '-', '+');
      expect(seqs(rows)).toEqual(['1', '2', ...second.events.map((e) => String(e.fields[5]))]);
      expect(await redis.xlen(`${prefix}dead`)).toBe(1);
      const ids = rows.map(([id]) => id.split('-').map(Number) as [number, number]);
      for (let i = 1; i < ids.length; i += 1) {
        const [ms, seq] = ids[i] as [number, number];
        const [prevMs, prevSeq] = ids[i - 1] as [number, number];
        expect(ms > prevMs || (ms === prevMs && seq > prevSeq)).toBe(true);
      }
      await redis.del(`${prefix}events`, `${prefix}dead`);
    });

    it('retries a half-written batch without duplicates, refusing later batches until it is written', async () => {
      const prefix = uniquePrefix('ids');
      const sink = respSink(prefix, testRedisUrl(), { explicitIds: true });
      await sink.write({ events: [event(0)], dead: [] });
      await redis.set(`${prefix}dead`, 'blocks the dead letters');
      const failing: SinkBatch = { events: [event(1), event(2)], dead: [deadLetter('d1')] };
      const later: SinkBatch = { events: [event(3)], dead: [] };
      await expect(sink.write(failing)).rejects.toThrow(/WRONGTYPE/);
      expect(seqs(await redis.xrange(`${prefix}events`, '-', '+'))).toEqual(['0', '1', '2']);
      await expect(sink.write(later)).rejects.toThrow(/an earlier batch failed and must be written first/);
      await redis.del(`${prefix}dead`);
      await sink.write(failing);
      await sink.write(later);
      expect(seqs(await redis.xrange(`${prefix}events`, '-', '+'))).toEqual(['0', '1', '2', '3']);
      expect(await redis.xlen(`${prefix}dead`)).toBe(1);
      await redis.del(`${prefix}events`, `${prefix}dead`);
    });

    it('starts above the ids already in the stream (a restarted worker, a clock behind)', async () => {
      const prefix = uniquePrefix('ids');
      const future = Date.now() + 3_600_000;
      await redis.xadd(`${prefix}events`, `${future}-5`, 'seeded', 'yes');
      const sink = respSink(prefix, testRedisUrl(), { explicitIds: true });
      await sink.write({ events: [event(1)], dead: [] });
      const rows = await redis.xrange(`${prefix}events`, '-', '+');
      expect(rows.map(([id]) => id)).toEqual([`${future}-5`, `${future}-6`]);
      await redis.del(`${prefix}events`);
    });
  });
});
