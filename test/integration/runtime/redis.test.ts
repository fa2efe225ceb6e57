import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { FortistreamError } from '../../../src/errors.js';
import { NO_REDIS_HELP, connectRedis, resolveRedis } from '../../../src/runtime/redis.js';
import { pingRedis } from '../../../src/runtime/redis-server.js';
import { testRedisUrl } from '../../support/redis.js';

describe('choosing a Redis', () => {
  it('prefers --redis, then REDIS_URL, then the pipeline', async () => {
    const all = { optionUrl: 'redis://a:1', envUrl: 'redis://b:2', pipelineUrl: 'redis://c:3', probeLocal: false };
    expect(await resolveRedis(all)).toMatchObject({ url: 'redis://a:1', origin: 'option' });
    expect(await resolveRedis({ ...all, optionUrl: undefined })).toMatchObject({ url: 'redis://b:2', origin: 'env' });
    expect(await resolveRedis({ ...all, optionUrl: undefined, envUrl: undefined })).toMatchObject({ origin: 'pipeline' });
  });

  it('starts a private redis-server on a free port when nothing is configured, and stops it', async () => {
    const choice = await resolveRedis({ probeLocal: false });
    expect(choice.origin).toBe('private');
    const server = choice.privateServer!;
    expect(server.port).not.toBe(6379);
    const client = new Redis(choice.url);
    expect(await client.ping()).toBe('PONG');
    await client.quit();
    await server.stop();
    expect(await pingRedis('127.0.0.1', server.port, 300)).toBe(false);
  });

  it('says how to get Redis when none is configured and redis-server is not installed', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(resolveRedis({ probeLocal: false })).rejects.toThrow(FortistreamError);
      await expect(resolveRedis({ probeLocal: false })).rejects.toThrow(/apt-get install redis-server/);
    } finally {
      process.env.PATH = path;
    }
    expect(NO_REDIS_HELP).toMatch(/docker/i);
  });

  it('connects to a live Redis and names an unreachable one without its password', async () => {
    const client = await connectRedis(testRedisUrl(), 2000);
    expect(await client.ping()).toBe('PONG');
    await client.quit();
    const error = await connectRedis('redis://user:s3cret@127.0.0.1:1', 500).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FortistreamError);
    expect((error as FortistreamError).code).toBe('FST_REDIS_UNAVAILABLE');
    expect((error as Error).message).not.toContain('s3cret');
    expect((error as Error).message).toContain('127.0.0.1:1');
  });
});
