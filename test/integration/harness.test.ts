import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { testRedisClient, uniquePrefix } from '../support/redis.js';

describe('test harness', () => {
  const redis = testRedisClient();
  afterAll(async () => {
    await redis.quit();
  });

  it('talks to a real Redis that is not the shared instance on 6379', async () => {
    const url = new URL(inject('redisUrl'));
    if (inject('redisKind') === 'private') expect(url.port).not.toBe('6379');
    const key = `${uniquePrefix('harness')}probe`;
    await redis.set(key, 'v', 'EX', 10);
    expect(await redis.get(key)).toBe('v');
    expect(await redis.del(key)).toBe(1);
  });
});
