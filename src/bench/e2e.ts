/**
 * End to end: N generated lines, framed with RFC 6587 octet counting before the clock starts, go over
 * one TCP connection to the bench's worker, which parses them and writes them to Redis. Measured from
 * the first to the last entry landing (XLEN of the measured sink's streams, polled): events/s, and
 * the CPU time the worker, Redis and this process (the sender) spent per event over that window; the
 * worker's peak RSS. The same figures as bench/scenarios/e2e-tcp.mjs, without the repository.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { FortistreamError, errorMessage } from '../errors.js';
import { createLineGenerator } from './fortigate-lines.js';
import { processCpuMicros, processPeakRssBytes, processRssBytes } from './process-stats.js';
import { redisCpuMicros } from './redis-probe.js';
import type { BenchWorker } from './worker-process.js';

export interface EndToEndResult {
  readonly events: number;
  /** Entries counted in the measured sink's streams (events + dead letters). */
  readonly landed: number;
  readonly dead: number;
  /** From the first to the last entry landing; null when both fell in one poll (too few events to time). */
  readonly seconds: number | null;
  readonly events_per_s: number | null;
  readonly mb_per_s: number | null;
  readonly worker_peak_rss_mb: number | null;
  readonly worker_cpu_us_per_event: number | null;
  readonly redis_cpu_us_per_event: number | null;
  readonly sender_cpu_us_per_event: number | null;
  /** Redis runs commands on one core: at most 1 s / its CPU per event. */
  readonly redis_bound_events_per_s: number | null;
  /** The worker, Redis and the sender share this machine's cores: at most cores × 1 s / their CPU per event. */
  readonly cores_bound_events_per_s: number | null;
}

export interface EndToEndOptions {
  readonly events: number;
  readonly seed: number;
  readonly worker: BenchWorker;
  /** A client on the worker's Redis (the bench's own: polls, INFO). */
  readonly redis: Redis;
  readonly streams: { readonly events: string; readonly dead: string };
  readonly cores: number;
  readonly signal: AbortSignal;
  /** Fail when no new entry landed for this long (default 30 s). */
  readonly stallMs?: number;
}

const FRAMES_PER_CHUNK = 512;
const POLL_MS = 10;

/** Generates and frames the lines: chunks of octet-counted frames, and the lines' total size. */
export function frameGeneratedLines(events: number, seed: number): { chunks: Buffer[]; payloadBytes: number } {
  // Event times near now: sessions and counters then see the times a live FortiGate would send.
  const generator = createLineGenerator({ seed, startMs: Math.floor(Date.now() / 1000) * 1000 });
  const chunks: Buffer[] = [];
  let payloadBytes = 0;
  const lines: string[] = [];
  for (let done = 0; done < events; ) {
    const count = Math.min(FRAMES_PER_CHUNK, events - done);
    let size = 0;
    for (let i = 0; i < count; i += 1) {
      const line = generator.next();
      lines[i] = line;
      size += String(line.length).length + 1 + line.length; // ASCII: a byte per character
    }
    // Written into the chunk line by line: concatenated strings would stay in memory beside the buffers.
    const chunk = Buffer.allocUnsafe(size);
    let at = 0;
    for (let i = 0; i < count; i += 1) {
      const line = lines[i] as string;
      at += chunk.write(`${line.length} `, at, 'latin1');
      at += chunk.write(line, at, 'latin1');
      payloadBytes += line.length;
    }
    chunks.push(chunk);
    done += count;
  }
  return { chunks, payloadBytes };
}

interface CpuSnapshot {
  readonly worker: number | undefined;
  readonly redis: number | undefined;
  readonly sender: number;
}

export async function measureEndToEnd(options: EndToEndOptions): Promise<EndToEndResult> {
  const { events, worker, redis, streams, signal } = options;
  const stallMs = options.stallMs ?? 30_000;
  const { chunks, payloadBytes } = frameGeneratedLines(events, options.seed);

  const snapshot = async (): Promise<CpuSnapshot> => {
    const sender = process.cpuUsage();
    return { worker: processCpuMicros(worker.pid), redis: await redisCpuMicros(redis), sender: sender.user + sender.system };
  };
  const countLanded = async (): Promise<{ events: number; dead: number }> => {
    const replies = (await redis.multi().xlen(streams.events).xlen(streams.dead).exec()) ?? [];
    const value = (i: number): number => {
      const [error, count] = replies[i] ?? [new Error('no reply'), 0];
      if (error) throw error;
      return Number(count);
    };
    return { events: value(0), dead: value(1) };
  };

  const socket = await openConnection(worker.address.host, worker.address.port);
  let sendError: unknown;
  const sending = sendAll(socket, chunks).catch((error: unknown) => {
    sendError = error;
  });
  let peakRss = processRssBytes(worker.pid);
  let first: { at: number; landed: number; cpu: CpuSnapshot } | undefined;
  let last: { at: number; cpu: CpuSnapshot } | undefined;
  let landed = { events: 0, dead: 0 };
  let progressAt = performance.now();
  try {
    for (;;) {
      const previous = landed.events + landed.dead;
      landed = await countLanded();
      const now = performance.now();
      const total = landed.events + landed.dead;
      const rss = processRssBytes(worker.pid);
      if (rss !== undefined) peakRss = Math.max(peakRss ?? 0, rss);
      if (total > 0 && first === undefined) first = { at: now, landed: total, cpu: await snapshot() };
      if (total >= events) {
        last = { at: now, cpu: await snapshot() };
        break;
      }
      if (total > previous) progressAt = now;
      const failure = signal.aborted
        ? 'interrupted'
        : sendError !== undefined
          ? `the connection to the worker failed: ${errorMessage(sendError)}`
          : worker.exitStatus() !== undefined
            ? `the worker stopped (${worker.exitStatus() as string})`
            : now - progressAt > stallMs
              ? `no new entry for ${stallMs / 1000} s`
              : undefined;
      if (failure !== undefined) {
        throw new FortistreamError('FST_BENCH_FAILED', `${failure}: ${total} of ${events} events landed in ${streams.events} and ${streams.dead}`, {
          details: worker.problems(),
        });
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    await sending;
  } finally {
    socket.destroy();
  }
  if (first === undefined || last === undefined) throw new Error('unreachable: the poll loop ends with the last entry counted');
  const peakHwm = processPeakRssBytes(worker.pid);
  if (peakHwm !== undefined) peakRss = Math.max(peakRss ?? 0, peakHwm);

  const measured = events - first.landed;
  const seconds = (last.at - first.at) / 1000;
  const timed = measured > 0 && seconds > 0;
  const perEvent = (key: keyof CpuSnapshot): number | null => {
    const from = first.cpu[key];
    const to = last.cpu[key];
    if (!timed || from === undefined || to === undefined) return null;
    return +((to - from) / measured).toFixed(2);
  };
  const workerCpu = perEvent('worker');
  const redisCpu = perEvent('redis');
  const senderCpu = perEvent('sender');
  const cpuTotal = workerCpu !== null && redisCpu !== null && senderCpu !== null ? workerCpu + redisCpu + senderCpu : null;
  return {
    events,
    landed: landed.events + landed.dead,
    dead: landed.dead,
    seconds: timed ? +seconds.toFixed(3) : null,
    events_per_s: timed ? Math.round(measured / seconds) : null,
    mb_per_s: timed ? +(((payloadBytes / events) * measured) / seconds / 1e6).toFixed(1) : null,
    worker_peak_rss_mb: peakRss === undefined ? null : +(peakRss / 1024 / 1024).toFixed(1),
    worker_cpu_us_per_event: workerCpu,
    redis_cpu_us_per_event: redisCpu,
    sender_cpu_us_per_event: senderCpu,
    redis_bound_events_per_s: redisCpu !== null && redisCpu > 0 ? Math.round(1e6 / redisCpu) : null,
    cores_bound_events_per_s: cpuTotal !== null && cpuTotal > 0 ? Math.round((options.cores * 1e6) / cpuTotal) : null,
  };
}

async function openConnection(host: string, port: number): Promise<Socket> {
  const socket = connect({ host, port });
  try {
    await once(socket, 'connect');
  } catch (error) {
    socket.destroy();
    throw new FortistreamError('FST_BENCH_FAILED', `cannot connect to the bench's worker on ${host}:${port}: ${errorMessage(error)}`);
  }
  return socket;
}

/** Writes every chunk, waiting for 'drain' when the socket's buffer is full, then ends the connection. */
async function sendAll(socket: Socket, chunks: readonly Buffer[]): Promise<void> {
  for (const chunk of chunks) {
    if (!socket.write(chunk)) await once(socket, 'drain');
  }
  await new Promise<void>((resolve) => socket.end(resolve));
}
