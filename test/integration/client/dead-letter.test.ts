import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canMoveAtomically,
  deadLetterAtomically,
  deadLetterSeparately,
  hashTagOf,
  type DeadLetterRequest,
} from '../../../src/client/dead-letter.js';
import { testRedisClient, uniquePrefix } from '../../support/redis.js';

let redis: Redis;

beforeAll(() => {
  redis = testRedisClient();
});

afterAll(async () => {
  await redis.quit();
});

/** One entry, read `reads` times by consumer `c1` (so XPENDING says times_delivered = reads). */
async function pendingEntry(reads: number): Promise<{ stream: string; id: string }> {
  const stream = `${uniquePrefix('dead')}events`;
  const id = String(await redis.xadd(stream, '*', 'k', 'v'));
  await redis.call('XGROUP', 'CREATE', stream, 'g', '0');
  await redis.call('XREADGROUP', 'GROUP', 'g', 'c1', 'STREAMS', stream, '>');
  for (let i = 1; i < reads; i += 1) await redis.call('XREADGROUP', 'GROUP', 'g', 'c1', 'STREAMS', stream, '0');
  return { stream, id };
}

function request(stream: string, id: string, overrides: Partial<DeadLetterRequest> = {}): DeadLetterRequest {
  return { stream, deadLetterStream: `${stream}:dead`, group: 'g', consumer: 'c1', id, maxDeliveries: 2, deadLetterMaxLen: 0, error: 'boom', ...overrides };
}

describe.each([
  ['atomic (Lua)', deadLetterAtomically],
  ['separate (XADD then XACK)', deadLetterSeparately],
])('dead-lettering, %s', (_name, move) => {
  it('moves an entry delivered maxDeliveries times before, with metadata, and acks it', async () => {
    const { stream, id } = await pendingEntry(3);
    const outcome = await move(redis, request(stream, id));
    expect(outcome.moved).toBe(true);
    const dead = await redis.xrange(`${stream}:dead`, '-', '+');
    expect(dead.map(([, fields]) => fields)).toEqual([
      ['k', 'v', 'original_stream', stream, 'original_id', id, 'deliveries', '2', 'consumer_group', 'g', 'error', 'boom'],
    ]);
    expect(await redis.call('XPENDING', stream, 'g', '-', '+', 10)).toEqual([]);
  });

  it('refuses an entry under the limit, and one owned by another consumer', async () => {
    const { stream, id } = await pendingEntry(2);
    expect(await move(redis, request(stream, id))).toEqual({ moved: false, reason: 'under-limit' });
    expect(await move(redis, request(stream, id, { consumer: 'other', maxDeliveries: 1 }))).toEqual({ moved: false, reason: 'not-pending' });
    expect(await redis.exists(`${stream}:dead`)).toBe(0);
  });

  it('still dead-letters (metadata only) an entry trimmed from the stream', async () => {
    const { stream, id } = await pendingEntry(3);
    await redis.xdel(stream, id);
    expect((await move(redis, request(stream, id))).moved).toBe(true);
    const [entry] = await redis.xrange(`${stream}:dead`, '-', '+');
    expect(entry?.[1].slice(0, 4)).toEqual(['original_stream', stream, 'original_id', id]);
  });
});

describe('hash tags', () => {
  it('finds the part Redis Cluster hashes and allows atomic moves on a single Redis', () => {
    expect(hashTagOf('{events:ml}:dead')).toBe('events:ml');
    expect(hashTagOf('fortistream:{ml}')).toBe('ml');
    expect(hashTagOf('a{}b')).toBe('a{}b');
    expect(hashTagOf('fortistream:events:ml')).toBe('fortistream:events:ml');
    expect(canMoveAtomically(redis, 'fortistream:events:ml', 'fortistream:events:ml:dead')).toBe(true);
  });
});
