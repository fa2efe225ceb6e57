import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createWriterLeases, writerLeaseKey, WriterLeaseConflictError } from '../../../src/runtime/writer-lease.js';
import { uniquePrefix } from '../../support/redis.js';
import { useTestRedis } from '../../support/state-stage.js';

const logger = pino({ level: 'silent' });
const TTL_MS = 600;

/** A token as another worker writes it. */
const tokenOf = (host: string, pid: number): string => `host ${host} pid ${pid} since 2026-12-05T00:00:00.000Z id ${Math.random().toString(16).slice(2, 10)}`;

describe('writer leases: one writer per stream across processes', () => {
  const redis = useTestRedis();
  const leases = (token?: string, registry?: Registry) =>
    createWriterLeases({ redis: redis(), logger, ttlMs: TTL_MS, ...(token !== undefined ? { token } : {}), ...(registry ? { registry } : {}) });

  it('refuses a second writer while the first renews its lease, and lets it in once the first releases', async () => {
    const stream = `${uniquePrefix('lease')}events:soc`;
    const first = leases(tokenOf('host-a', 101));
    await first.acquire([stream]);
    first.keep(() => [stream]);
    const second = leases(tokenOf('host-b', 202));
    const refused = await second.acquire([stream]).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(WriterLeaseConflictError);
    expect((refused as WriterLeaseConflictError).message).toContain('host host-a pid 101');
    expect((refused as WriterLeaseConflictError).code).toBe('FST_WRITER_CONFLICT');
    await first.release();
    expect(await redis().exists(writerLeaseKey(stream))).toBe(0);
    await second.acquire([stream]);
    expect(await redis().get(writerLeaseKey(stream))).toBe(second.token);
    await second.release();
  });

  it('waits out the lease of a writer that stopped renewing (crashed on another host), then takes it', async () => {
    const stream = `${uniquePrefix('lease')}events:soc`;
    await redis().set(writerLeaseKey(stream), tokenOf('host-gone', 303), 'PX', 400);
    const next = leases();
    await next.acquire([stream]);
    expect(await redis().get(writerLeaseKey(stream))).toBe(next.token);
    const ttl = await redis().pttl(writerLeaseKey(stream));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(TTL_MS);
    await next.release();
  });

  it('takes over at once from a writer on this host whose process is gone (a restart after a crash)', async () => {
    const stream = `${uniquePrefix('lease')}events:soc`;
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    expect(deadPid).toBeGreaterThan(0);
    // A long lease: waiting it out would time the test out.
    await redis().set(writerLeaseKey(stream), tokenOf(hostname(), deadPid), 'PX', 600_000);
    const next = leases();
    await next.acquire([stream]);
    expect(await redis().get(writerLeaseKey(stream))).toBe(next.token);
    await next.release();
  });

  it('counts and reports a lease taken by another writer while running, and takes it back when it is free', async () => {
    const stream = `${uniquePrefix('lease')}events:soc`;
    const registry = new Registry();
    const mine = leases(undefined, registry);
    await mine.acquire([stream]);
    mine.keep(() => [stream]);
    await redis().set(writerLeaseKey(stream), tokenOf('host-intruder', 404), 'PX', 300);
    const metric = async () => (await registry.getSingleMetricAsString('fortistream_writer_lease_conflicts_total')).match(/\} (\d+)/)?.[1];
    for (let i = 0; i < 50 && (await metric()) === undefined; i += 1) await new Promise((r) => setTimeout(r, 50));
    expect(Number(await metric())).toBeGreaterThanOrEqual(1);
    // The intruder's lease runs out; the next renewal takes it again.
    for (let i = 0; i < 50 && (await redis().get(writerLeaseKey(stream))) !== mine.token; i += 1) await new Promise((r) => setTimeout(r, 50));
    expect(await redis().get(writerLeaseKey(stream))).toBe(mine.token);
    await mine.release();
  });
});
