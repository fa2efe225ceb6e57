import { afterEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type { WorkerProcess } from '../support/worker-process.js';
import { CountingRelay, entriesAdded, kernelUdpDrops, loadgenStats, MiB, RssSampler, rssBytes, sleep, startLoadgen } from './overload-kit.js';
import { FaultRedis, faultPipeline, metricValue, startWorker, waitFor } from './support.js';

/**
 * Overload (issue 6 item 6): the shared load generator against the built worker, over loopback.
 *
 * TCP: the worker's capacity is measured first (the loadgen flat out for 5 s, delivered rate), then
 * the loadgen is asked for twice that rate for 60 s. The worker cannot take it, so it pauses its
 * socket (back-pressure) and the sender falls behind its schedule: the memory bound is what is
 * tested. The loadgen passes through a relay that forwards and counts whole frames only, so when the
 * burst is cut at 60 s the number of lines sent is exact, and every one of them must be delivered.
 */
const PREFIX = 'ovl:';
const EVENTS = `${PREFIX}events:soc`;
const DEAD = `${PREFIX}dead`;
/** The worker's memory buffer in the TCP test (small, so that it is what limits the worker). */
const BUFFER_MAX_BYTES = 16 * MiB;
/**
 * RSS the worker may use above its idle baseline besides `buffer_max_bytes`: V8's young generation
 * (semi-spaces up to 16 MiB each, two of them) and the garbage the old generation accumulates between
 * major collections at full speed, the socket read buffers, prom-client and the Redis client. Measured
 * peaks stay well below; without back-pressure the worker reads the whole backlog into memory and
 * goes far past it (see README "Reliability contract").
 */
const RSS_ALLOWANCE_BYTES = 96 * MiB;
const CAPACITY_SECONDS = 5;
const BURST_SECONDS = 60;
/**
 * Stream cap for the run: the count comes from `entries-added`, so the stream may be trimmed and
 * Redis memory stays bounded (~50k entries), however many lines the burst carries.
 */
const STREAM_MAX_LEN = 50_000;
const SINKS = `soc: { type: redis_streams, max_len: ${STREAM_MAX_LEN}, dead_letter_max_len: ${STREAM_MAX_LEN} }`;

async function delivered(redis: Redis): Promise<number> {
  return (await entriesAdded(redis, EVENTS)) + (await entriesAdded(redis, DEAD));
}

describe('overload', () => {
  let server: FaultRedis | undefined;
  let worker: WorkerProcess | undefined;
  let relay: CountingRelay | undefined;
  let sampler: RssSampler | undefined;
  let admin: Redis | undefined;
  const loadgens: Array<{ kill(signal: NodeJS.Signals): boolean }> = [];
  afterEach(async () => {
    for (const child of loadgens.splice(0)) child.kill('SIGKILL');
    sampler?.stop();
    await relay?.close();
    admin?.disconnect();
    await worker?.stop('SIGKILL');
    await server?.stop();
    server = worker = relay = sampler = admin = undefined;
  });

  it(
    `TCP: the loadgen at 2× the measured capacity for ${BURST_SECONDS} s (TCP back-pressure holds it to the worker's pace): ` +
      'RSS stays under idle baseline + buffer_max_bytes + allowance, every line sent is delivered',
    async () => {
      server = await FaultRedis.start({ appendOnly: false });
      admin = server.client();
      const redis = admin;
      worker = await startWorker(faultPipeline({ prefix: PREFIX, extra: `  buffer_max_bytes: ${BUFFER_MAX_BYTES}\n`, sinks: SINKS }), server.url);
      const pid = worker.child.pid as number;
      // The idle baseline: the largest RSS over 1 s once the worker is listening.
      let baseline = 0;
      for (let i = 0; i < 5; i += 1) {
        baseline = Math.max(baseline, rssBytes(pid) ?? 0);
        await sleep(250);
      }
      const bound = baseline + BUFFER_MAX_BYTES + RSS_ALLOWANCE_BYTES;
      sampler = new RssSampler(pid, 250);
      relay = await CountingRelay.start((worker.addresses.tcp_in as { port: number }).port);
      const target = `127.0.0.1:${relay.port}`;

      // Capacity: flat out, delivered rate over the last 4 of 5 s (the first second warms the JIT).
      const warm = startLoadgen(['--tcp', target, '--count', '100000000', '--seed', '1']);
      loadgens.push(warm.child);
      await sleep(1000);
      const from = { at: Date.now(), count: await delivered(redis) };
      await sleep((CAPACITY_SECONDS - 1) * 1000);
      const to = { at: Date.now(), count: await delivered(redis) };
      warm.child.kill('SIGKILL');
      const warmSent = await relay.cut();
      const capacity = (to.count - from.count) / ((to.at - from.at) / 1000);
      expect(capacity).toBeGreaterThan(0);
      expect(await waitFor(() => delivered(redis), (n) => n >= warmSent, 30_000)).toBe(warmSent);

      // The burst: asked for 2× capacity for 60 s, cut after 60 s whatever it managed to send.
      relay.reset();
      const rate = Math.ceil(2 * capacity);
      const burst = startLoadgen(['--tcp', target, '--rate', String(rate), '--count', String(rate * BURST_SECONDS), '--seed', '2']);
      loadgens.push(burst.child);
      const burstStart = Date.now();
      await sleep(BURST_SECONDS * 1000);
      burst.child.kill('SIGKILL');
      const sent = await relay.cut();
      const burstSeconds = (Date.now() - burstStart) / 1000;
      const drainStart = Date.now();
      const landed = await waitFor(() => delivered(redis), (n) => n >= warmSent + sent, 60_000);
      const drainSeconds = (Date.now() - drainStart) / 1000;
      // A little longer: a duplicate would arrive after the count was reached.
      await sleep(500);
      const final = await delivered(redis);
      sampler.stop();
      const dead = await entriesAdded(redis, DEAD);
      console.log(
        JSON.stringify({
          overload: 'tcp',
          capacity_events_per_s: Math.round(capacity),
          rate_asked_per_s: rate,
          lines_asked: rate * BURST_SECONDS,
          lines_sent: sent,
          rate_sent_per_s: Math.round(sent / burstSeconds),
          sent_vs_capacity: +(sent / burstSeconds / capacity).toFixed(2),
          dead,
          drain_seconds: drainSeconds,
          rss_idle_mb: +(baseline / MiB).toFixed(1),
          rss_max_mb: +(sampler.max / MiB).toFixed(1),
          rss_bound_mb: +(bound / MiB).toFixed(1),
          rss_samples: sampler.samples,
        }),
      );
      expect(landed).toBe(warmSent + sent);
      expect(final).toBe(warmSent + sent);
      // The worker was overloaded: the sender fell behind the rate it was asked for.
      expect(sent).toBeLessThan(rate * BURST_SECONDS);
      expect(sampler.samples).toBeGreaterThan((BURST_SECONDS + CAPACITY_SECONDS) * 2);
      expect(sampler.max).toBeLessThan(bound);
    },
    150_000,
  );

  /**
   * UDP cannot push back: datagrams the worker cannot take are lost, and the test checks they are
   * all accounted for. The first part is sent while Redis is frozen (the 1 MiB buffer fills, the
   * worker drops and counts `buffer_full`), the rest with Redis back and a tiny socket receive buffer
   * (the kernel drops what the worker does not read in time). Loopback loses nothing in flight.
   */
  it('UDP: N datagrams faster than the worker takes them: received + kernel drops + own drops == N, exactly', async () => {
    const frozenCount = 30_000;
    const liveCount = 100_000;
    const sentCount = frozenCount + liveCount;
    server = await FaultRedis.start({ appendOnly: false });
    admin = server.client();
    const redis = admin;
    const sources = 'udp_in: { type: syslog, mode: udp, address: "127.0.0.1:0", receive_buffer_bytes: 16384 }';
    worker = await startWorker(faultPipeline({ prefix: PREFIX, api: true, extra: '  buffer_max_bytes: 1048576\n', sources, sinks: SINKS }), server.url);
    const running = worker;
    const port = (running.addresses.udp_in as { port: number }).port;

    const send = async (count: number, seed: number): Promise<void> => {
      const run = startLoadgen(['--udp', `127.0.0.1:${port}`, '--count', String(count), '--seed', String(seed)]);
      loadgens.push(run.child);
      const { code, stderr } = await run.done;
      expect(code).toBe(0);
      expect(stderr).not.toContain('udp send errors');
      expect(loadgenStats(stderr).count).toBe(count);
    };
    server.signal('SIGSTOP');
    try {
      await send(frozenCount, 3);
    } finally {
      server.signal('SIGCONT');
    }
    await send(liveCount, 4);

    const received = (): Promise<number> => metricValue(running, 'fortistream_component_received_events_total', { component: 'udp_in' });
    const framingDead = (): Promise<number> => metricValue(running, 'fortistream_component_dropped_events_total', { component: 'udp_in' });
    const bufferFull = (): Promise<number> =>
      metricValue(running, 'fortistream_component_dropped_events_total', { component: 'buffer', reason: 'buffer_full' });
    // Settled: everything the worker took is in a stream or counted as dropped.
    const settle = async (): Promise<{ taken: number; accounted: number }> => ({
      taken: (await received()) + (await framingDead()),
      accounted: (await delivered(redis)) + (await bufferFull()),
    });
    const settled = await waitFor(settle, (s) => s.taken === s.accounted, 30_000);
    expect(settled.accounted).toBe(settled.taken);

    const kernel = kernelUdpDrops(port);
    const kernelMetric = await metricValue(running, 'fortistream_udp_kernel_drops_total', { source: 'udp_in' });
    const counts = {
      sent: sentCount,
      received: await received(),
      framing_dead: await framingDead(),
      kernel_drops: kernel,
      kernel_drops_metric: kernelMetric,
      buffer_full: await bufferFull(),
      events: await entriesAdded(redis, EVENTS),
      dead: await entriesAdded(redis, DEAD),
    };
    console.log(JSON.stringify({ overload: 'udp', ...counts }));
    // The scenario lost datagrams both ways (otherwise it tested nothing).
    expect(counts.kernel_drops).toBeGreaterThan(0);
    expect(counts.buffer_full).toBeGreaterThan(0);
    // Our kernel-drop metric is the kernel's count for the socket.
    expect(counts.kernel_drops_metric).toBe(counts.kernel_drops);
    // The worker's own accounting: what it read plus what the kernel dropped is what was sent.
    expect(counts.received + counts.framing_dead + counts.kernel_drops_metric).toBe(sentCount);
    // And what reached Redis plus every counted drop is what was sent.
    expect(counts.events + counts.dead + counts.buffer_full + counts.kernel_drops_metric).toBe(sentCount);
  }, 60_000);
});
