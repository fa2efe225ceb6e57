/**
 * Overload-test kit: the shared load generator as a child process, a relay that counts the
 * octet-counted frames it passes on (so a burst cut after a fixed time still has an exact "sent"),
 * RSS sampling from /proc, and exact counts of what reached the streams.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Redis } from 'ioredis';

/** The shared deterministic FortiGate load generator (same place `npm run bench` takes it from). */
const LOADGEN_PATH = join(process.cwd(), '..', 'shared', 'bench', 'fgt-loadgen.mjs');
/**
 * Its real path: the loadgen runs only when started as the main module (it compares its own URL with
 * argv[1]), so a path through a symlinked ../shared would make it a silent no-op.
 */
export const LOADGEN = existsSync(LOADGEN_PATH) ? realpathSync(LOADGEN_PATH) : LOADGEN_PATH;

/** Starts the load generator with `args`; `done` resolves its stderr (its last line is a JSON stats line). */
export function startLoadgen(args: readonly string[]): { child: ChildProcess; done: Promise<{ code: number | null; stderr: string }> } {
  if (!existsSync(LOADGEN)) throw new Error(`the load generator is missing: ${LOADGEN}`);
  const child = spawn(process.execPath, [LOADGEN, '--quiet', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
  return { child, done };
}

/** The JSON stats line the load generator prints last. */
export function loadgenStats(stderr: string): Record<string, unknown> {
  const last = stderr.trim().split('\n').pop() ?? '';
  const parsed: unknown = JSON.parse(last);
  if (typeof parsed !== 'object' || parsed === null) throw new Error(`no loadgen stats in: ${stderr}`);
  return parsed as Record<string, unknown>;
}

/**
 * A TCP relay between the load generator and the worker that forwards only whole octet-counted
 * frames (`<len> <bytes>`), counts them, and honours the worker's back-pressure (the inbound socket
 * pauses while the outbound one is full, so the sender feels the worker's pace). `cut()` ends the
 * burst: the partial frame in hand is dropped, so `frames` is exactly what the worker was sent.
 */
export class CountingRelay {
  frames = 0;
  private readonly server: Server;
  private inbound: Socket | undefined;
  private outbound: Socket | undefined;
  private outboundClosed: Promise<void> | undefined;
  private cutting = false;
  /** Bytes still missing from the frame being read (0: reading a length prefix). */
  private bodyLeft = 0;
  private lengthSoFar = 0;
  /** The start of the frame being read, held back until it is whole. */
  private tail: Buffer | undefined;

  private constructor(private readonly targetPort: number) {
    this.server = createServer((socket) => this.onConnection(socket));
  }

  static async start(targetPort: number): Promise<CountingRelay> {
    const relay = new CountingRelay(targetPort);
    await new Promise<void>((resolve) => relay.server.listen(0, '127.0.0.1', resolve));
    return relay;
  }

  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('relay not listening');
    return address.port;
  }

  /** Ready for the next sender: counts start again from 0. */
  reset(): void {
    this.frames = 0;
    this.bodyLeft = 0;
    this.lengthSoFar = 0;
    this.tail = undefined;
    this.cutting = false;
  }

  private onConnection(inbound: Socket): void {
    this.inbound = inbound;
    const outbound = connect({ host: '127.0.0.1', port: this.targetPort });
    this.outbound = outbound;
    this.outboundClosed = new Promise((resolve) => outbound.once('close', () => resolve()));
    inbound.pause();
    outbound.once('connect', () => inbound.resume());
    inbound.on('data', (chunk: Buffer) => this.onData(chunk));
    inbound.on('error', () => {}); // the sender is killed when the burst is cut
    inbound.on('end', () => void this.cut());
  }

  private onData(chunk: Buffer): void {
    const inbound = this.inbound;
    const outbound = this.outbound;
    if (this.cutting || !inbound || !outbound) return;
    // Scan the framing; `whole` ends after the last frame this chunk completes.
    let whole = -1;
    let i = 0;
    while (i < chunk.length) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, chunk.length - i);
        i += take;
        this.bodyLeft -= take;
        if (this.bodyLeft === 0) {
          this.frames += 1;
          whole = i;
        }
        continue;
      }
      const byte = chunk[i] as number;
      i += 1;
      if (byte >= 48 && byte <= 57) this.lengthSoFar = this.lengthSoFar * 10 + (byte - 48);
      else if (byte === 32 && this.lengthSoFar > 0) {
        this.bodyLeft = this.lengthSoFar;
        this.lengthSoFar = 0;
      } else throw new Error(`relay: not octet-counted framing (byte ${byte})`);
    }
    let full = false;
    if (whole < 0) {
      this.tail = this.tail ? Buffer.concat([this.tail, chunk]) : chunk;
      return;
    }
    if (this.tail) full = !outbound.write(this.tail);
    full = !outbound.write(chunk.subarray(0, whole)) || full;
    this.tail = whole < chunk.length ? chunk.subarray(whole) : undefined;
    if (full) {
      inbound.pause();
      outbound.once('drain', () => {
        if (!this.cutting) inbound.resume();
      });
    }
  }

  /** Ends the burst: stops reading, drops the partial frame, closes the worker connection after what it was sent. */
  async cut(): Promise<number> {
    if (!this.cutting) {
      this.cutting = true;
      this.inbound?.pause();
      this.inbound?.destroy();
      this.outbound?.end();
    }
    await this.outboundClosed;
    return this.frames;
  }

  async close(): Promise<void> {
    this.inbound?.destroy();
    this.outbound?.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The resident set size of process `pid` in bytes (VmRSS), or undefined once it is gone. */
export function rssBytes(pid: number): number | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : undefined;
}

/** Samples a process's RSS every `intervalMs`; `max` is the largest sample so far. */
export class RssSampler {
  max = 0;
  samples = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(
    private readonly pid: number,
    intervalMs: number,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    const rss = rssBytes(this.pid);
    if (rss === undefined) return;
    this.samples += 1;
    if (rss > this.max) this.max = rss;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * How many entries were ever added to a stream (XINFO STREAM `entries-added`, Redis ≥ 7.0): an exact
 * count whatever `MAXLEN ~` trimmed since, and a refused duplicate id does not count. (Entry ids are
 * frame sequences, so the last id says nothing about how many there are.)
 */
export async function entriesAdded(redis: Redis, stream: string): Promise<number> {
  if ((await redis.exists(stream)) === 0) return 0;
  const info: unknown = await redis.call('XINFO', 'STREAM', stream);
  if (!Array.isArray(info)) throw new Error('unexpected XINFO STREAM reply');
  const at = info.indexOf('entries-added');
  if (at < 0) throw new Error('XINFO STREAM has no entries-added (Redis ≥ 7.0 needed)');
  return Number(info[at + 1]);
}

/** Kernel drops of the UDP socket bound to `port`, read from /proc/net/udp (last column of its row). */
export function kernelUdpDrops(port: number): number {
  const portHex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let total = 0;
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1]?.endsWith(portHex)) total += Number(fields[fields.length - 1]);
  }
  return total;
}

export const MiB = 1024 * 1024;
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
