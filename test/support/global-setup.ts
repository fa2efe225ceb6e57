import { chmodSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { redisServerAvailable, startPrivateRedis, type PrivateRedis } from '../../src/runtime/redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    /** 'env' when REDIS_URL was given, 'private' for our own redis-server, 'container' for testcontainers. */
    redisKind: 'env' | 'private' | 'container';
  }
}

let stopRedis: (() => Promise<void>) | undefined;

/**
 * Picks the Redis the tests talk to: REDIS_URL when set, else a private redis-server on a free
 * port, else a testcontainers Redis where Docker exists, else a clear failure. Never the shared
 * instance on 6379 unless REDIS_URL names it explicitly.
 */
export async function setup(project: TestProject): Promise<void> {
  // Git does not keep file modes beyond the exec bit: a fresh clone has the test-only TLS keys at 644,
  // which fortistream rightly refuses for private keys. Give them the mode a real deployment would.
  const tlsFixtures = join(process.cwd(), 'test', 'fixtures', 'tls');
  for (const file of readdirSync(tlsFixtures)) if (file.endsWith('.key')) chmodSync(join(tlsFixtures, file), 0o600);

  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) {
    project.provide('redisUrl', fromEnv);
    project.provide('redisKind', 'env');
    return;
  }
  if (redisServerAvailable()) {
    const server: PrivateRedis = await startPrivateRedis();
    stopRedis = () => server.stop();
    project.provide('redisUrl', server.url);
    project.provide('redisKind', 'private');
    return;
  }
  try {
    const { GenericContainer } = await import('testcontainers');
    const container = await new GenericContainer('redis:7-alpine').withExposedPorts(6379).start();
    stopRedis = async () => {
      await container.stop();
    };
    project.provide('redisUrl', `redis://${container.getHost()}:${container.getMappedPort(6379)}`);
    project.provide('redisKind', 'container');
    return;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(
      'No Redis for the tests: set REDIS_URL, or install redis-server (apt-get install redis-server), ' +
        `or run Docker for testcontainers. Docker attempt failed: ${why}`,
    );
  }
}

export async function teardown(): Promise<void> {
  if (stopRedis) await stopRedis();
}
