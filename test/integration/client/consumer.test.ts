import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createStreamConsumer, type StreamConsumer, type StreamEntry } from '../../../src/client/index.js';
import { testRedisClient, uniquePrefix } from '../../support/redis.js';

let redis: Redis;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(() => {
  redis = testRedisClient();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await redis.quit();
});

/** Polls `check` until it returns true, or fails with `what` after `timeoutMs`. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function addEntries(stream: string, count: number, extra: (i: number) => string[] = () => []): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    ids.push(String(await redis.xadd(stream, '*', 'n', String(i), ...extra(i))));
  }
  return ids;
}

async function pendingCount(stream: string, group: string): Promise<number> {
  const summary = (await redis.call('XPENDING', stream, group)) as [number, ...unknown[]];
  return Number(summary[0]);
}

async function pendingIds(stream: string, group: string, consumer?: string): Promise<string[]> {
  const rows = (await redis.call('XPENDING', stream, group, '-', '+', 1000, ...(consumer ? [consumer] : []))) as [string, ...unknown[]][];
  return rows.map((row) => row[0]);
}

function track(consumer: StreamConsumer): StreamConsumer {
  cleanups.push(() => consumer.stop());
  return consumer;
}

describe('createStreamConsumer', () => {
  it('creates the group, hands every entry to the handler with its fields and acks it', async () => {
    const stream = `${uniquePrefix('consumer')}events`;
    const seen: StreamEntry<Record<string, string>>[] = [];
    const consumer = track(
      createStreamConsumer({ redis, stream, group: 'g', consumer: 'c1', blockMs: 200, handler: (entry) => void seen.push(entry) }),
    );
    await consumer.start();
    const ids = await addEntries(stream, 25, (i) => ['event.outcome', i % 2 ? 'failure' : 'success']);
    await waitFor('25 acked entries', () => consumer.stats().acked === 25);

    expect(seen.map((entry) => entry.id)).toEqual(ids);
    expect(seen[3]).toEqual({ id: ids[3], fields: { n: '3', 'event.outcome': 'failure' }, deliveries: 1 });
    expect(await pendingCount(stream, 'g')).toBe(0);
    expect(consumer.stats()).toMatchObject({ delivered: 25, acked: 25, failed: 0, deadLettered: 0 });
  });

  it('decodes with a custom decoder and starts a new group from the first entry with startId 0', async () => {
    const stream = `${uniquePrefix('consumer')}events`;
    const ids = await addEntries(stream, 3);
    const seen: number[] = [];
    const consumer = track(
      createStreamConsumer({
        redis,
        stream,
        group: 'g',
        consumer: 'c1',
        startId: '0',
        blockMs: 200,
        decode: (fields: string[]) => Number(fields[1]),
        handler: (entry) => void seen.push(entry.fields),
      }),
    );
    await consumer.start();
    await waitFor('3 acked entries', () => consumer.stats().acked === ids.length);
    expect(seen).toEqual([0, 1, 2]);
  });

  it('a second consumer reclaims what a killed consumer held mid-batch: every entry completed and acked exactly once', async () => {
    const stream = `${uniquePrefix('consumer')}events`;
    const ids = await addEntries(stream, 30);
    const completedByA: string[] = [];
    const completedByB: string[] = [];
    let releaseA: () => void = () => undefined;
    const aHung = new Promise<void>((hung) => {
      releaseA = hung;
    });
    let signalHang: () => void = () => undefined;
    const hangReached = new Promise<void>((resolve) => {
      signalHang = resolve;
    });

    // A reads a batch of 10, completes 4, then its handler hangs on the 5th (as if the process froze).
    const clientA = testRedisClient();
    const consumerA = createStreamConsumer({
      redis: clientA,
      stream,
      group: 'g',
      consumer: 'a',
      startId: '0',
      batchSize: 10,
      blockMs: 200,
      claimIdleMs: 200,
      handler: async (entry) => {
        if (completedByA.length === 4) {
          signalHang();
          await aHung;
          throw new Error('killed');
        }
        completedByA.push(entry.id);
      },
    });
    await consumerA.start();
    await hangReached;
    await waitFor('A acks its 4 completed entries', () => consumerA.stats().acked === 4);
    // Kill A: its connection goes away, nothing it holds is acked.
    clientA.disconnect();
    expect(await pendingIds(stream, 'g', 'a')).toEqual(ids.slice(4, 10));

    const consumerB = track(
      createStreamConsumer({
        redis,
        stream,
        group: 'g',
        consumer: 'b',
        batchSize: 10,
        blockMs: 200,
        claimIdleMs: 200,
        handler: (entry) => void completedByB.push(entry.id),
      }),
    );
    await consumerB.start();
    await waitFor('B completes the other 26 entries', () => consumerB.stats().acked === 26);
    await new Promise((resolve) => setTimeout(resolve, 500)); // room for any duplicate delivery to show up

    expect(completedByA).toEqual(ids.slice(0, 4));
    expect(new Set(completedByB).size).toBe(completedByB.length);
    expect([...completedByB].sort()).toEqual(ids.slice(4).sort());
    expect(await pendingCount(stream, 'g')).toBe(0);
    expect(consumerB.stats().reclaimed).toBe(6);

    releaseA();
    await consumerA.stop();
    expect(completedByA).toHaveLength(4);
  });

  it('moves poison entries to the dead-letter stream after maxDeliveries, with metadata, and acks them', async () => {
    const stream = `${uniquePrefix('consumer')}events`;
    const deadLetterStream = `${stream}:dead`;
    const ids = await addEntries(stream, 6, (i) => (i % 3 === 1 ? ['poison', 'yes'] : []));
    const poisonIds = [ids[1], ids[4]];
    const attempts = new Map<string, number>();
    const consumer = track(
      createStreamConsumer({
        redis,
        stream,
        group: 'g',
        consumer: 'c1',
        startId: '0',
        blockMs: 100,
        claimIdleMs: 100,
        maxDeliveries: 3,
        handler: (entry) => {
          attempts.set(entry.id, (attempts.get(entry.id) ?? 0) + 1);
          if (entry.fields.poison === 'yes') throw new Error(`cannot digest ${entry.fields.n}`);
        },
      }),
    );
    await consumer.start();
    await waitFor('2 dead letters', () => consumer.stats().deadLettered === 2);

    const dead = (await redis.xrange(deadLetterStream, '-', '+')).map(([, fields]) => fields);
    expect(dead).toHaveLength(2);
    expect(dead[0]).toEqual([
      'n', '1', 'poison', 'yes',
      'original_stream', stream,
      'original_id', poisonIds[0],
      'deliveries', '3',
      'consumer_group', 'g',
      'error', 'cannot digest 1',
    ]);
    expect(dead[1]).toContain(poisonIds[1]);
    expect(await pendingCount(stream, 'g')).toBe(0);
    expect(attempts.get(ids[1] as string)).toBe(3);
    expect(attempts.get(ids[0] as string)).toBe(1);
    expect(consumer.stats()).toMatchObject({ acked: 4, failed: 6, deadLettered: 2 });
  });

  it('stop() finishes the handler in flight and leaves unprocessed entries pending, unacked', async () => {
    const stream = `${uniquePrefix('consumer')}events`;
    const ids = await addEntries(stream, 10);
    let consumer: StreamConsumer | undefined;
    let stopped: Promise<void> | undefined;
    const handled: string[] = [];
    consumer = createStreamConsumer({
      redis,
      stream,
      group: 'g',
      consumer: 'c1',
      startId: '0',
      batchSize: 10,
      blockMs: 200,
      handler: async (entry) => {
        if (handled.length === 2) stopped = consumer?.stop();
        await new Promise((resolve) => setTimeout(resolve, 50)); // still finished after stop() was called
        handled.push(entry.id);
      },
    });
    await consumer.start();
    await waitFor('stop() called', () => stopped !== undefined);
    await stopped;

    expect(handled).toEqual(ids.slice(0, 3));
    expect(consumer.stats()).toMatchObject({ delivered: 3, acked: 3, running: false });
    expect(await pendingIds(stream, 'g', 'c1')).toEqual(ids.slice(3));
  });

  it('on start, first handles its own pending entries (left by a previous run under the same name)', async () => {
    const stream = `${uniquePrefix('consumer')}events`;
    const ids = await addEntries(stream, 4);
    await redis.call('XGROUP', 'CREATE', stream, 'g', '0');
    await redis.call('XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', 3, 'STREAMS', stream, '>'); // a previous run read 3, then died
    const seen: StreamEntry<Record<string, string>>[] = [];
    const consumer = track(
      createStreamConsumer({ redis, stream, group: 'g', consumer: 'c1', blockMs: 200, handler: (entry) => void seen.push(entry) }),
    );
    await consumer.start();
    await waitFor('4 acked', () => consumer.stats().acked === 4);
    expect(seen.map((entry) => entry.id)).toEqual(ids);
    expect(seen.map((entry) => entry.deliveries)).toEqual([2, 2, 2, 1]);
    expect(consumer.stats().reclaimed).toBe(0);
  });

  it('blocks on its own connection: commands on the shared client are not delayed by the blocking read', async () => {
    const stream = `${uniquePrefix('consumer')}events`;
    const consumer = track(
      createStreamConsumer({ redis, stream, group: 'g', consumer: 'c1', blockMs: 3000, claimIdleMs: 600_000, handler: () => undefined }),
    );
    await consumer.start();
    await new Promise((resolve) => setTimeout(resolve, 300)); // the loop is now inside XREADGROUP … BLOCK 3000
    const clients = String(await redis.call('CLIENT', 'LIST'));
    expect(clients).toMatch(/cmd=xreadgroup/);
    const before = Date.now();
    await redis.set(`${stream}:probe`, '1');
    expect(Date.now() - before).toBeLessThan(1000);
    await redis.del(`${stream}:probe`);

    const stopStarted = Date.now();
    await consumer.stop();
    expect(Date.now() - stopStarted).toBeLessThan(1000); // the blocked read is interrupted, not waited out
  });

  it('survives a handler error on one entry without stopping the batch', async () => {
    const stream = `${uniquePrefix('consumer')}events`;
    const ids = await addEntries(stream, 3);
    const seen: string[] = [];
    const consumer = track(
      createStreamConsumer({
        redis,
        stream,
        group: 'g',
        consumer: 'c1',
        startId: '0',
        blockMs: 100,
        claimIdleMs: 100,
        handler: (entry) => {
          seen.push(entry.id);
          if (entry.id === ids[0] && entry.deliveries === 1) throw new Error('transient');
        },
      }),
    );
    await consumer.start();
    await waitFor('3 acked', () => consumer.stats().acked === 3);
    expect(seen).toEqual([ids[0], ids[1], ids[2], ids[0]]);
    expect(await pendingCount(stream, 'g')).toBe(0);
  });
});
