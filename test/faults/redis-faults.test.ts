import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerProcess } from '../support/worker-process.js';
import { differences, FaultRedis, faultPipeline, sendNumbered, startWorker, streamNumbers, waitFor } from './support.js';

/**
 * Redis faults while a known numbered sequence arrives over TCP: afterwards the stream holds every
 * number exactly once, in order (explicit entry ids make retries idempotent).
 */
const N = 6000;
const STREAM = 'fault:events:soc';

describe('Redis faults mid-stream (no spool): zero lost, zero duplicated', () => {
  let redis: FaultRedis | undefined;
  let worker: WorkerProcess | undefined;
  afterEach(async () => {
    await worker?.stop('SIGKILL');
    await redis?.stop();
    worker = undefined;
    redis = undefined;
  });

  async function run(fault: (sent: number, server: FaultRedis) => void | Promise<void>): Promise<void> {
    const server = await FaultRedis.start();
    redis = server;
    worker = await startWorker(faultPipeline({ prefix: 'fault:' }), server.url);
    const port = (worker.addresses.tcp_in as { port: number }).port;
    await sendNumbered(port, 0, N, { perTick: 100, tickMs: 20, onProgress: (sent) => fault(sent, server) });
    const admin = server.client();
    try {
      const numbers = await waitFor(() => streamNumbers(admin, STREAM), (got) => got.length >= N, 60_000);
      // A little longer: a duplicate would arrive after the count was reached.
      await new Promise((r) => setTimeout(r, 500));
      const final = await streamNumbers(admin, STREAM);
      expect(differences(final, N)).toEqual({ lost: [], duplicated: [], outOfOrder: 0 });
      expect(final).toHaveLength(N);
      expect(numbers.length).toBeGreaterThan(0);
    } finally {
      admin.disconnect();
    }
  }

  it('CLIENT KILL of every worker connection, twice', async () => {
    let killer: ReturnType<FaultRedis['client']> | undefined;
    let kills = 0;
    await run(async (sent, server) => {
      if (sent !== 2000 && sent !== 4000) return;
      killer ??= server.client();
      const own = Number(await killer.client('ID'));
      const list = String(await killer.client('LIST'));
      for (const line of list.split('\n')) {
        const id = Number(/(?:^|\s)id=(\d+)/.exec(line)?.[1]);
        if (Number.isFinite(id) && id !== own) kills += Number(await killer.client('KILL', 'ID', String(id)));
      }
    });
    killer?.disconnect();
    expect(kills).toBeGreaterThanOrEqual(2);
  }, 90_000);

  it('Redis frozen for 5 s (SIGSTOP / SIGCONT)', async () => {
    let thawed: Promise<void> | undefined;
    await run((sent, server) => {
      if (sent !== 2000) return;
      server.signal('SIGSTOP');
      thawed = new Promise((resolve) =>
        setTimeout(() => {
          server.signal('SIGCONT');
          resolve();
        }, 5000),
      );
    });
    await thawed;
  }, 90_000);

  it('Redis SIGKILLed and restarted on the same port (AOF appendfsync always)', async () => {
    let restarted: Promise<void> | undefined;
    await run(async (sent, server) => {
      if (sent !== 2000) return;
      await server.kill();
      restarted = new Promise((r) => setTimeout(r, 1000)).then(() => server.launch());
    });
    await restarted;
  }, 90_000);
});
