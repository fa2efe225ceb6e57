import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerProcess } from '../support/worker-process.js';
import { differences, FaultRedis, faultPipeline, metricValue, sendNumbered, startWorker, streamNumbers, waitFor } from './support.js';

const STREAM = 'fault:events:soc';
/** The smallest memory buffer: what does not fit goes to the spool. */
const SMALL_BUFFER = 'pipeline:\n  buffer_max_bytes: 1048576\n';

/** Frames the spool has written (one `write` syscall made them safe from a crash of the worker). */
function spooled(worker: WorkerProcess): Promise<number> {
  return metricValue(worker, 'fortistream_component_received_events_total', { component: 'spool' });
}

describe('with the disk spool: zero lost, zero duplicated', () => {
  let redis: FaultRedis | undefined;
  const workers: WorkerProcess[] = [];
  afterEach(async () => {
    for (const worker of workers.splice(0)) await worker.stop('SIGKILL');
    await redis?.stop();
    redis = undefined;
  });

  it('Redis down for 30 s mid-stream, then back: the sender is never blocked, everything arrives once', async () => {
    const N = 20_000;
    const server = await FaultRedis.start();
    redis = server;
    const spoolDir = mkdtempSync(join(tmpdir(), 'fortistream-spool-'));
    const pipeline = faultPipeline({ prefix: 'fault:', spoolDir, extra: SMALL_BUFFER.replace('pipeline:\n', '') });
    const worker = await startWorker(pipeline, server.url);
    workers.push(worker);
    let downAt = 0;
    await sendNumbered((worker.addresses.tcp_in as { port: number }).port, 0, N, {
      perTick: 500,
      onProgress: async (sent) => {
        if (sent !== 2000) return;
        await server.kill();
        downAt = Date.now();
      },
    });
    // Every line was taken while Redis was down (the spool holds what the memory buffer cannot).
    expect(Date.now() - downAt).toBeLessThan(25_000);
    expect(readdirSync(spoolDir).length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, Math.max(0, downAt + 30_000 - Date.now())));
    await server.launch();
    const admin = server.client();
    try {
      await waitFor(() => streamNumbers(admin, STREAM), (got) => got.length >= N, 90_000);
      await new Promise((r) => setTimeout(r, 500));
      const numbers = await streamNumbers(admin, STREAM);
      const found = differences(numbers, N);
      if (found.lost.length > 0) console.error(worker.logs.filter((l) => Number(l.level) >= 40).slice(0, 20));
      expect(found).toEqual({ lost: [], duplicated: [], outOfOrder: 0 });
      expect(numbers).toHaveLength(N);
    } finally {
      admin.disconnect();
    }
  }, 180_000);

  it('worker SIGKILLed with events in flight (Redis frozen), then restarted: the spool replays them, Redis dedupes', async () => {
    const N = 5000;
    const server = await FaultRedis.start();
    redis = server;
    const spoolDir = mkdtempSync(join(tmpdir(), 'fortistream-spool-'));
    const pipeline = faultPipeline({ prefix: 'fault:', spoolDir, api: true, extra: SMALL_BUFFER.replace('pipeline:\n', '') });
    const first = await startWorker(pipeline, server.url);
    workers.push(first);
    const port = (first.addresses.tcp_in as { port: number }).port;
    // Half goes through normally, then Redis freezes with the second half in flight.
    await sendNumbered(port, 0, N / 2, { perTick: 250 });
    const admin = server.client();
    try {
      await waitFor(() => streamNumbers(admin, STREAM), (got) => got.length >= N / 2, 30_000);
      server.signal('SIGSTOP');
      await sendNumbered(port, N / 2, N, { perTick: 250 });
      // "Read" = written to the spool: the worker's spool metric counts every frame once its write returned.
      expect(await waitFor(() => spooled(first), (count) => count >= N, 30_000)).toBe(N);
      await first.stop('SIGKILL');
      server.signal('SIGCONT');
      const second = await startWorker(pipeline, server.url);
      workers.push(second);
      await waitFor(() => streamNumbers(admin, STREAM), (got) => got.length >= N, 60_000);
      await new Promise((r) => setTimeout(r, 1000));
      const numbers = await streamNumbers(admin, STREAM);
      expect(differences(numbers, N)).toEqual({ lost: [], duplicated: [], outOfOrder: 0 });
      expect(numbers).toHaveLength(N);
    } finally {
      server.signal('SIGCONT');
      admin.disconnect();
    }
  }, 180_000);
});
