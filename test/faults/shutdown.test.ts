import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerProcess } from '../support/worker-process.js';
import { differences, FaultRedis, faultPipeline, metricValue, sendNumbered, startWorker, streamNumbers, waitFor } from './support.js';

const STREAM = 'fault:events:soc';
const N = 4000;

describe('graceful shutdown (SIGTERM, shutdown_timeout_seconds: 3)', () => {
  let redis: FaultRedis | undefined;
  const workers: WorkerProcess[] = [];
  afterEach(async () => {
    for (const worker of workers.splice(0)) await worker.stop('SIGKILL');
    await redis?.stop();
    redis = undefined;
  });

  it('drains fully: Redis frozen when the signal arrives and back within the deadline → everything written, exit 0', async () => {
    const server = await FaultRedis.start();
    redis = server;
    const worker = await startWorker(faultPipeline({ prefix: 'fault:', api: true }), server.url);
    workers.push(worker);
    await sendNumbered((worker.addresses.tcp_in as { port: number }).port, 0, N, { perTick: 250 });
    // Every line parsed (counted per batch cut), then Redis freezes with batches in flight.
    await waitFor(() => metricValue(worker, 'fortistream_component_received_events_total', { component: 'parse' }), (n) => n >= N, 20_000);
    server.signal('SIGSTOP');
    const exit = worker.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    server.signal('SIGCONT');
    expect(await exit).toBe(0);
    const admin = server.client();
    try {
      const numbers = await streamNumbers(admin, STREAM);
      expect(differences(numbers, N)).toEqual({ lost: [], duplicated: [], outOfOrder: 0 });
      expect(numbers).toHaveLength(N);
    } finally {
      admin.disconnect();
    }
  }, 120_000);

  it('deadline hit with Redis away and the spool on → exits non-zero; the next start replays everything, once', async () => {
    const server = await FaultRedis.start();
    redis = server;
    const spoolDir = mkdtempSync(join(tmpdir(), 'fortistream-spool-'));
    const pipeline = faultPipeline({ prefix: 'fault:', api: true, spoolDir });
    const worker = await startWorker(pipeline, server.url);
    workers.push(worker);
    await sendNumbered((worker.addresses.tcp_in as { port: number }).port, 0, N / 2, { perTick: 250 });
    const admin = server.client();
    try {
      await waitFor(() => streamNumbers(admin, STREAM), (got) => got.length >= N / 2, 30_000);
      server.signal('SIGSTOP');
      await sendNumbered((worker.addresses.tcp_in as { port: number }).port, N / 2, N, { perTick: 250 });
      await waitFor(() => metricValue(worker, 'fortistream_component_received_events_total', { component: 'spool' }), (n) => n >= N, 30_000);
      const started = Date.now();
      const code = await worker.stop('SIGTERM');
      expect(code).not.toBe(0);
      expect(code).not.toBeNull();
      // Within the deadline (3 s) plus closing (≤ 1 s each for the sinks and Redis) and process exit.
      expect(Date.now() - started).toBeLessThan(15_000);
      server.signal('SIGCONT');
      const next = await startWorker(pipeline, server.url);
      workers.push(next);
      await waitFor(() => streamNumbers(admin, STREAM), (got) => got.length >= N, 60_000);
      await new Promise((r) => setTimeout(r, 500));
      const numbers = await streamNumbers(admin, STREAM);
      expect(differences(numbers, N)).toEqual({ lost: [], duplicated: [], outOfOrder: 0 });
      expect(numbers).toHaveLength(N);
      expect(await next.stop('SIGTERM')).toBe(0);
    } finally {
      server.signal('SIGCONT');
      admin.disconnect();
    }
  }, 120_000);
});
