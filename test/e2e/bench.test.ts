import { spawn } from 'node:child_process';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRedisClient, testRedisUrl, uniquePrefix } from '../support/redis.js';
import { CLI } from '../support/worker-process.js';

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function keysWithPrefix(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

const nullableNumber = expect.toSatisfy((v: unknown) => v === null || (typeof v === 'number' && v >= 0));

describe('fortistream bench', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = testRedisClient();
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('measures parse and end to end on a named Redis, counts every event, and deletes exactly its own keys', async () => {
    // Someone else's data on the same Redis: the bench must leave it alone.
    const other = uniquePrefix('bench-bystander');
    await redis.set(`${other}keep`, '1');
    await redis.xadd(`${other}events:soc`, '*', 'f', 'v');

    const run = await runCli(['bench', '--events', '2000', '--redis', testRedisUrl(), '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as Record<string, unknown> & {
      parse: Record<string, unknown>;
      e2e: Record<string, unknown> & { key_prefix: string };
    };
    expect(report).toMatchObject({ seed: 1, events: 2000, node: process.version, cores: expect.any(Number) });
    expect(report.parse).toEqual({
      lines: 2000,
      bytes: expect.any(Number),
      lines_per_s: expect.any(Number),
      mb_per_s: expect.any(Number),
      dead: 0,
    });
    expect(report.e2e).toEqual({
      events: 2000,
      landed: 2000,
      dead: 0,
      seconds: nullableNumber,
      events_per_s: nullableNumber,
      mb_per_s: nullableNumber,
      worker_peak_rss_mb: nullableNumber,
      worker_cpu_us_per_event: nullableNumber,
      redis_cpu_us_per_event: nullableNumber,
      sender_cpu_us_per_event: nullableNumber,
      redis_bound_events_per_s: nullableNumber,
      cores_bound_events_per_s: nullableNumber,
      redis: expect.any(String),
      redis_origin: 'option',
      pipeline: null,
      key_prefix: expect.stringMatching(/^fortistream-bench-[0-9a-f]{8}:$/),
      keys_deleted: expect.any(Number),
    });
    // It wrote at least the events stream and its writer lease, and deleted them all.
    expect(report.e2e.keys_deleted as number).toBeGreaterThanOrEqual(1);
    expect(await keysWithPrefix(redis, report.e2e.key_prefix)).toEqual([]);
    expect(await redis.get(`${other}keep`)).toBe('1');
    expect(await redis.xlen(`${other}events:soc`)).toBe(1);
    await redis.unlink(`${other}keep`, `${other}events:soc`);
  });

  it('--only parse needs no Redis and prints a readable summary', async () => {
    const run = await runCli(['bench', '--only', 'parse', '--events', '1000', '--redis', 'redis://127.0.0.1:1']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^parse \(one core\): [\d,]+ lines\/s, [\d.]+ MB\/s \(best of 3 passes over 1,000 lines, 0 dead\)$/m);
    expect(run.stdout).not.toMatch(/end to end/);
  });
});
