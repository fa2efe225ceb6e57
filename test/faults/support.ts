/**
 * Fault-test kit: a redis-server each test owns (port, AOF, signals), a worker process fed numbered
 * events over TCP, and the entry-by-entry check of what reached the stream.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { findFreePort, pingRedis } from '../../src/runtime/redis-server.js';
import { fortigateLine, waitFor } from '../support/fortigate-lines.js';
import { startWorkerProcess, writePipeline, type WorkerProcess } from '../support/worker-process.js';

export { waitFor };

/** A redis-server the test starts, freezes, kills and restarts on the same port, with AOF `always`. */
export class FaultRedis {
  private child: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly appendOnly: boolean,
  ) {}

  /** `appendOnly: false` for the overload tests (no restart there, and an fsync per write would be the bottleneck). */
  static async start(options: { appendOnly?: boolean } = {}): Promise<FaultRedis> {
    const dir = mkdtempSync(join(tmpdir(), 'fortistream-fault-redis-'));
    const server = new FaultRedis(await findFreePort(), dir, options.appendOnly ?? true);
    await server.launch();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server (again) on the same port and folder; resolves once it answers PING. */
  async launch(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', ''];
    if (this.appendOnly) args.push('--appendonly', 'yes', '--appendfsync', 'always');
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.child = child;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      if (await pingRedis('127.0.0.1', this.port, 300)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('redis-server did not answer in time');
  }

  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** SIGKILL and wait until it is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  client(): Redis {
    return new Redis(this.url, { maxRetriesPerRequest: null });
  }

  async stop(): Promise<void> {
    this.child?.kill('SIGCONT');
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The numbered traffic line `i` (its number ends up as `fortinet.firewall.fstestseq`). */
export function numberedLine(i: number): Buffer {
  return fortigateLine(
    Date.UTC(2026, 0, 1, 12, 0, 0) + i,
    `logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=10.0.${(i >> 8) & 255}.${i & 255} srcport=40000 dstip=198.51.100.9 dstport=443 proto=6 action="accept" policyid=7 fstestseq=${i}`,
  );
}

/**
 * Sends lines `from`…`to - 1` over one TCP connection (octet-counted), `perTick` at a time, waiting
 * for `drain` when the worker pushes back; `onProgress(sent)` runs after each tick.
 */
export async function sendNumbered(
  port: number,
  from: number,
  to: number,
  options: { perTick?: number; tickMs?: number; onProgress?: (sent: number) => void | Promise<void> } = {},
): Promise<void> {
  const socket: Socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const perTick = options.perTick ?? 200;
  for (let start = from; start < to; start += perTick) {
    const parts: Buffer[] = [];
    for (let i = start; i < Math.min(to, start + perTick); i += 1) {
      const line = numberedLine(i);
      parts.push(Buffer.from(`${line.length} `), line);
    }
    if (!socket.write(Buffer.concat(parts))) await new Promise((resolve) => socket.once('drain', resolve));
    await options.onProgress?.(Math.min(to, start + perTick));
    if (options.tickMs !== undefined) await new Promise((r) => setTimeout(r, options.tickMs));
  }
  await new Promise<void>((resolve) => socket.end(resolve));
}

/** The fstestseq numbers of the stream's entries, in stream order. */
export async function streamNumbers(redis: Redis, stream: string): Promise<number[]> {
  const out: number[] = [];
  let start = '-';
  for (;;) {
    const rows = await redis.xrange(stream, start, '+', 'COUNT', 5000);
    for (const [, fields] of rows) out.push(Number(fields[fields.indexOf('fortinet.firewall.fstestseq') + 1]));
    if (rows.length < 5000) return out;
    start = `(${(rows[rows.length - 1] as [string, string[]])[0]}`;
  }
}

/** Describes how `numbers` differs from 0…n-1: lost, duplicated, out of order (empty = exact). */
export function differences(numbers: readonly number[], n: number): { lost: number[]; duplicated: number[]; outOfOrder: number } {
  const seen = new Map<number, number>();
  for (const value of numbers) seen.set(value, (seen.get(value) ?? 0) + 1);
  const lost: number[] = [];
  for (let i = 0; i < n; i += 1) if (!seen.has(i)) lost.push(i);
  const duplicated = [...seen].filter(([, count]) => count > 1).map(([value]) => value);
  let outOfOrder = 0;
  for (let i = 1; i < numbers.length; i += 1) if ((numbers[i] as number) < (numbers[i - 1] as number)) outOfOrder += 1;
  return { lost: lost.slice(0, 20), duplicated: duplicated.slice(0, 20), outOfOrder };
}

export const TOKEN = 'fault-test-read-token-0123456789abcdef';

/** A pipeline file: one TCP source and the sinks stream (or the given one-line `sources`/`sinks`), optionally the spool and the API (for metrics). */
export function faultPipeline(options: { prefix: string; spoolDir?: string; api?: boolean; extra?: string; sources?: string; sinks?: string }): string {
  const dir = mkdtempSync(join(tmpdir(), 'fortistream-fault-'));
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(tokens, `tokens:\n  - { name: test, token: "${TOKEN}", roles: [read] }\n`);
  chmodSync(tokens, 0o600);
  return writePipeline(`
redis:
  key_prefix: "${options.prefix}"
pipeline:
  batch_max_wait_ms: 5
  retry_initial_ms: 50
  retry_max_ms: 500
  shutdown_timeout_seconds: 3
${options.extra ?? ''}
${options.spoolDir !== undefined ? `spool:\n  dir: "${options.spoolDir}"\n  fsync: batch\n` : ''}
${options.api === true ? `api:\n  address: "127.0.0.1:0"\n  tokens_file: "${tokens}"\n` : ''}
sources:
  ${options.sources ?? 'tcp_in: { type: syslog, mode: tcp, address: "127.0.0.1:0" }'}
sinks:
  ${options.sinks ?? 'soc: { type: redis_streams }'}
`);
}

export async function startWorker(pipelineFile: string, redisUrl: string): Promise<WorkerProcess> {
  return startWorkerProcess(['--pipeline', pipelineFile, '--redis', redisUrl], 1, 30_000);
}

/** The API address from the worker's `api listening` log line. */
export function apiAddress(worker: WorkerProcess): string {
  const line = worker.logs.find((l) => l.msg === 'api listening');
  if (!line || typeof line.address !== 'string') throw new Error('the worker logged no api address');
  return line.address;
}

/** Reads one counter (summed over label sets that match `labels`) from the worker's /metrics. */
export async function metricValue(worker: WorkerProcess, name: string, labels: Record<string, string>): Promise<number> {
  const response = await fetch(`http://${apiAddress(worker)}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await response.text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inside = line.slice(name.length + 1, line.indexOf('}'));
    if (Object.entries(labels).every(([k, v]) => inside.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
