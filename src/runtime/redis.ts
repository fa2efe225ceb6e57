import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { FortistreamError } from '../errors.js';
import { safeRedisUrl } from '../observability/logger.js';
import { pingRedis, redisServerAvailable, startPrivateRedis, type PrivateRedis } from './redis-server.js';

export interface RedisChoice {
  readonly url: string;
  /** Where the URL came from, for the start-up log line. */
  readonly origin: 'option' | 'env' | 'pipeline' | 'local' | 'private';
  /** Set when we started our own redis-server; stop it with the worker. */
  readonly privateServer?: PrivateRedis;
}

export interface ResolveRedisOptions {
  readonly optionUrl?: string | undefined;
  readonly envUrl?: string | undefined;
  readonly pipelineUrl?: string | undefined;
  /** Probe 127.0.0.1:6379 before starting a private server (true for `run`, false for `demo`). */
  readonly probeLocal: boolean;
  readonly logger?: Logger;
}

export const NO_REDIS_HELP =
  'No Redis is configured (--redis, REDIS_URL or redis.url in the pipeline), nothing answers on 127.0.0.1:6379, ' +
  'and redis-server is not on PATH to start a private one. Install it (Debian/Ubuntu: apt-get install redis-server; ' +
  'macOS: brew install redis), or run one with Docker: docker compose up -d redis (see README), ' +
  'or point --redis / REDIS_URL at an existing server.';

/**
 * Picks the Redis to use: --redis, then REDIS_URL, then the pipeline's redis.url, then a server already
 * answering on 127.0.0.1:6379, then a private redis-server on a free port (stopped with the worker).
 */
export async function resolveRedis(options: ResolveRedisOptions): Promise<RedisChoice> {
  if (options.optionUrl) return { url: options.optionUrl, origin: 'option' };
  if (options.envUrl) return { url: options.envUrl, origin: 'env' };
  if (options.pipelineUrl) return { url: options.pipelineUrl, origin: 'pipeline' };
  if (options.probeLocal && (await pingRedis('127.0.0.1', 6379, 500))) {
    return { url: 'redis://127.0.0.1:6379', origin: 'local' };
  }
  if (!redisServerAvailable()) throw new FortistreamError('FST_REDIS_UNAVAILABLE', NO_REDIS_HELP);
  const privateServer = await startPrivateRedis();
  options.logger?.info(
    { redis: privateServer.url, pid: privateServer.pid },
    'no Redis configured and none on 127.0.0.1:6379: started a private redis-server (stopped with the worker; data is not kept)',
  );
  return { url: privateServer.url, origin: 'private', privateServer };
}

/** An ioredis client for the worker's writes: bounded retries per command, the pipeline retries batches. */
export function createRedisClient(url: string, overrides: RedisOptions = {}): Redis {
  return new Redis(url, {
    connectionName: 'fortistream',
    maxRetriesPerRequest: 2,
    enableReadyCheck: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    ...overrides,
  });
}

/** Connects and PINGs within the timeout, or throws a FortistreamError that names the (password-free) URL. */
export async function connectRedis(url: string, timeoutMs: number, overrides: RedisOptions = {}): Promise<Redis> {
  const client = createRedisClient(url, { lazyConnect: true, ...overrides });
  client.on('error', () => {
    // Connection errors are reported by the pipeline's retry loop; this keeps ioredis from printing them.
  });
  try {
    await withTimeout(client.connect(), timeoutMs, `connecting to ${safeRedisUrl(url)} timed out after ${timeoutMs} ms`);
    await withTimeout(client.ping(), timeoutMs, `PING to ${safeRedisUrl(url)} timed out`);
    return client;
  } catch (error) {
    client.disconnect();
    const why = error instanceof Error ? error.message : String(error);
    throw new FortistreamError('FST_REDIS_UNAVAILABLE', `cannot reach Redis at ${safeRedisUrl(url)}: ${why}`, { cause: error });
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
