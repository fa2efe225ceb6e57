import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';

/** The Redis URL chosen by the global setup (never the machine's shared 6379 unless REDIS_URL says so). */
export function testRedisUrl(): string {
  return inject('redisUrl');
}

/** A fresh client on the test Redis; close it in afterAll/afterEach. */
export function testRedisClient(): Redis {
  return new Redis(testRedisUrl(), { lazyConnect: false, maxRetriesPerRequest: 3 });
}

/** A key prefix unique to one test, so tests never see each other's keys and never flush. */
export function uniquePrefix(label = 't'): string {
  return `fst-${label}-${randomBytes(5).toString('hex')}:`;
}
