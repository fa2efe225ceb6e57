/**
 * `fortistream bench`: measures fortistream on this machine without the repository. `parse`: parse
 * throughput on one core; `e2e`: TCP → the built worker (a child process) → Redis, with the CPU each
 * process spent per event and the rates they bound. Lines come from a seeded generator (src/bench).
 *
 * Redis: --redis, else REDIS_URL, else a private redis-server started for the run and stopped after;
 * never 127.0.0.1:6379 unless named (a benchmark writes nowhere it was not told to). On a named Redis
 * the worker writes under a key prefix of its own, and every key with that prefix is deleted at the end.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { loadPipelineFile, parsePipelineText } from '../config/load.js';
import { FortistreamError, errorMessage } from '../errors.js';
import { safeRedisUrl } from '../observability/logger.js';
import { connectRedis, loadRedisTls, redisTlsOptions, type RedisTlsOverrides } from '../runtime/redis.js';
import { redisServerAvailable, startPrivateRedis, type PrivateRedis } from '../runtime/redis-server.js';
import { measureEndToEnd, type EndToEndResult } from '../bench/e2e.js';
import { measureParseThroughput, type ParseThroughput } from '../bench/parse-throughput.js';
import { BENCH_SOURCE, buildBenchPipeline } from '../bench/pipeline.js';
import { deleteKeysWithPrefix, redisMemory } from '../bench/redis-probe.js';
import { startBenchWorker, type BenchWorker } from '../bench/worker-process.js';

export type BenchPart = 'parse' | 'e2e';

export interface BenchOptions {
  readonly events: number;
  readonly seed: number;
  /** Run only this part (default both). */
  readonly only?: BenchPart | undefined;
  readonly json: boolean;
  readonly redisUrl?: string | undefined;
  readonly pipelineFile?: string | undefined;
  readonly redisTls?: RedisTlsOverrides | undefined;
  /** Summary lines (standard output). */
  readonly print: (line: string) => void;
  /** Progress lines (standard error; not with --json). */
  readonly progress: (line: string) => void;
  /** Aborts the run (Ctrl-C); what it wrote is still cleaned up. */
  readonly signal?: AbortSignal | undefined;
}

export interface EndToEndReport extends EndToEndResult {
  /** Where the entries went, password-free. */
  readonly redis: string;
  readonly redis_origin: 'option' | 'env' | 'private';
  readonly pipeline: string | null;
  readonly key_prefix: string;
  /** Keys deleted at the end (a named Redis); null for the private server, which is stopped instead. */
  readonly keys_deleted: number | null;
}

export interface BenchReport {
  readonly seed: number;
  readonly events: number;
  readonly node: string;
  readonly platform: string;
  readonly cpu: string;
  readonly cores: number;
  readonly parse?: ParseThroughput;
  readonly e2e?: EndToEndReport;
}

export async function benchCommand(options: BenchOptions): Promise<number> {
  const signal = options.signal ?? new AbortController().signal;
  const progress = options.json ? () => undefined : options.progress;
  const cores = availableParallelism();
  const report: { -readonly [K in keyof BenchReport]: BenchReport[K] } = {
    seed: options.seed,
    events: options.events,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores,
  };
  if (options.only !== 'e2e') {
    progress(`parse: ${options.events} lines on one core …`);
    report.parse = measureParseThroughput({ events: options.events, seed: options.seed });
  }
  if (options.only !== 'parse') {
    // Ctrl-C during the parse passes (synchronous) arrives here: do not start writing to Redis then.
    if (signal.aborted) throw new FortistreamError('FST_BENCH_FAILED', 'interrupted before the end-to-end run');
    report.e2e = await runEndToEnd(options, cores, signal, progress);
  }
  if (options.json) options.print(JSON.stringify(report));
  else printReport(report, options.print);
  return 0;
}

interface RedisTarget {
  readonly url: string;
  readonly origin: 'option' | 'env' | 'private';
  readonly server?: PrivateRedis;
}

/** --redis, else REDIS_URL, else a private redis-server; never an unnamed 127.0.0.1:6379. */
async function chooseRedis(optionUrl: string | undefined): Promise<RedisTarget> {
  if (optionUrl) return { url: optionUrl, origin: 'option' };
  const envUrl = process.env.REDIS_URL;
  if (envUrl) return { url: envUrl, origin: 'env' };
  if (!redisServerAvailable()) {
    throw new FortistreamError(
      'FST_REDIS_UNAVAILABLE',
      'bench needs a Redis: redis-server is not on PATH to start a private one, and neither --redis nor REDIS_URL names one ' +
        '(the bench never writes to 127.0.0.1:6379 unless told to; a named Redis gets its keys deleted at the end).',
    );
  }
  const server = await startPrivateRedis();
  return { url: server.url, origin: 'private', server };
}

async function runEndToEnd(options: BenchOptions, cores: number, signal: AbortSignal, progress: (line: string) => void): Promise<EndToEndReport> {
  const base = options.pipelineFile === undefined ? undefined : loadPipelineFile(options.pipelineFile).pipeline;
  const prefix = `fortistream-bench-${randomBytes(4).toString('hex')}:`;
  const dir = mkdtempSync(join(tmpdir(), 'fortistream-bench-'));
  let target: RedisTarget | undefined;
  let redis: Redis | undefined;
  let worker: BenchWorker | undefined;
  let result: EndToEndResult | undefined;
  let keysDeleted: number | null = null;
  try {
    const pipeline = buildBenchPipeline({ base, prefix, events: options.events, spoolDir: join(dir, 'spool') });
    const pipelineFile = join(dir, 'pipeline.yaml');
    // Validated here so a problem names its origin (a mistake of ours, or of the file the bench was given).
    parsePipelineText(pipeline.yaml, `(bench pipeline from ${options.pipelineFile ?? 'the built-in minimal pipeline'})`);
    // It may hold values interpolated from the environment: readable by its owner only.
    writeFileSync(pipelineFile, pipeline.yaml, { mode: 0o600 });
    chmodSync(pipelineFile, 0o600);

    target = await chooseRedis(options.redisUrl);
    const tls = await loadRedisTls(target.url, base?.redis.tls, options.redisTls);
    redis = await connectRedis(target.url, base?.redis.connect_timeout_ms ?? 5000, redisTlsOptions(tls));
    if (target.origin !== 'private') {
      const streams = base === undefined ? 1 : Object.keys(base.sinks).length + Object.keys(base.profiles).length;
      await refuseWithoutRoom(redis, options.events, streams);
    }
    progress(`e2e: starting the worker (Redis ${describeRedis(target)}, key prefix ${prefix}) …`);
    worker = await startBenchWorker({
      pipelineFile,
      redisUrl: target.url,
      extraArgs: tlsArgs(options.redisTls),
      source: BENCH_SOURCE,
      startTimeoutMs: 30_000,
    });
    progress(`e2e: sending ${options.events} lines over TCP to ${worker.address.host}:${worker.address.port} …`);
    result = await measureEndToEnd({ events: options.events, seed: options.seed, worker, redis, streams: pipeline.streams, cores, signal });
  } finally {
    // The worker first: it writes until it stopped (its last batches, the session sweep).
    await worker?.stop(15_000);
    if (redis !== undefined && target !== undefined && target.origin !== 'private') {
      try {
        keysDeleted = await deleteKeysWithPrefix(redis, prefix);
        progress(`e2e: deleted ${keysDeleted} key(s) with prefix ${prefix}`);
      } catch (error) {
        // Said even with --json (on standard error): these keys are the user's to remove now.
        options.progress(`fortistream bench: could not delete the keys with prefix ${prefix} (${errorMessage(error)}); delete them with: redis-cli --scan --pattern '${prefix}*' | xargs redis-cli unlink`);
      }
    }
    await redis?.quit().catch(() => redis?.disconnect());
    await target?.server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  if (result === undefined || target === undefined) throw new Error('unreachable: the measurement returned');
  return {
    ...result,
    redis: describeRedis(target),
    redis_origin: target.origin,
    pipeline: options.pipelineFile ?? null,
    key_prefix: prefix,
    keys_deleted: keysDeleted,
  };
}

/** What one event costs in Redis per stream written, measured: ~1.8 KB for a traffic line's entry. */
const ENTRY_BYTES = 2048;

/**
 * On a Redis with maxmemory, N entries that do not fit would evict the user's keys (an allkeys-* policy)
 * or fail the worker's writes (noeviction): refuse before writing anything.
 */
async function refuseWithoutRoom(redis: Redis, events: number, streams: number): Promise<void> {
  const memory = await redisMemory(redis);
  if (memory === undefined || memory.maxBytes === 0) return;
  const needed = events * streams * ENTRY_BYTES;
  if (memory.usedBytes + needed <= memory.maxBytes) return;
  const mb = (bytes: number): string => `${Math.ceil(bytes / 1024 / 1024)} MB`;
  throw new FortistreamError(
    'FST_BENCH_FAILED',
    `Redis has maxmemory ${mb(memory.maxBytes)} (policy ${memory.policy}) and uses ${mb(memory.usedBytes)}; ` +
      `${events} events on ${streams} stream(s) need about ${mb(needed)} more, which could evict your keys or fail the writes: ` +
      `use fewer --events, or a Redis of its own (no --redis and no REDIS_URL: a private redis-server)`,
  );
}

function describeRedis(target: RedisTarget): string {
  return target.origin === 'private' ? `private redis-server ${target.url} (stopped after)` : safeRedisUrl(target.url);
}

function tlsArgs(overrides: RedisTlsOverrides | undefined): string[] {
  const args: string[] = [];
  if (overrides?.caFile !== undefined) args.push('--redis-ca', overrides.caFile);
  if (overrides?.certFile !== undefined) args.push('--redis-cert', overrides.certFile);
  if (overrides?.keyFile !== undefined) args.push('--redis-key', overrides.keyFile);
  return args;
}

const number = (value: number): string => value.toLocaleString('en-US');
const orDash = (value: number | null, unit = ''): string => (value === null ? 'not measured' : `${number(value)}${unit}`);

function printReport(report: BenchReport, print: (line: string) => void): void {
  print(`fortistream bench: ${number(report.events)} events, seed ${report.seed}; node ${report.node}, ${report.platform}, ${report.cores} core(s) (${report.cpu})`);
  if (report.parse !== undefined) {
    const p = report.parse;
    print('');
    print(`parse (one core): ${number(p.lines_per_s)} lines/s, ${p.mb_per_s} MB/s (best of 3 passes over ${number(p.lines)} lines, ${number(p.dead)} dead)`);
  }
  if (report.e2e !== undefined) {
    const e = report.e2e;
    print('');
    print(`end to end: TCP (octet counting) → worker → Redis: ${e.redis}`);
    print(`  pipeline          ${e.pipeline ?? 'built-in: one TCP source, one redis_streams sink'}`);
    print(`  landed            ${number(e.landed)} of ${number(e.events)} entries (${number(e.dead)} dead letters)`);
    if (e.events_per_s === null) {
      print('  throughput        too few events to time (all landed within one poll); use more --events');
    } else {
      print(`  throughput        ${number(e.events_per_s)} events/s, ${e.mb_per_s} MB/s (first to last entry landing: ${e.seconds} s)`);
    }
    print(`  worker            peak RSS ${orDash(e.worker_peak_rss_mb, ' MB')}, CPU ${orDash(e.worker_cpu_us_per_event, ' µs/event')}`);
    print(`  redis             CPU ${orDash(e.redis_cpu_us_per_event, ' µs/event')} → at most ${orDash(e.redis_bound_events_per_s, ' events/s')} on its one core`);
    print(`  sender (bench)    CPU ${orDash(e.sender_cpu_us_per_event, ' µs/event')}`);
    print(`  cores bound       ${report.cores} core(s) shared by the three → at most ${orDash(e.cores_bound_events_per_s, ' events/s')}`);
    if (e.keys_deleted !== null) print(`  cleanup           deleted ${number(e.keys_deleted)} key(s) with prefix ${e.key_prefix}`);
  }
}

/** What `fortistream bench --help` adds after the options. */
export const BENCH_HELP = `
parse: parseFrame over the generated lines, best of 3 passes on one core: lines/s and MB/s.
e2e:   starts the worker (fortistream run) as a child process and sends the lines from this process over one
       TCP connection (RFC 6587 octet counting). Reports events/s from the first to the last entry landing, the
       worker's peak RSS, the CPU time per event of the worker, of Redis (INFO cpu) and of the sender, and the
       rates they bound: Redis-bound (one core: 1 s / its CPU per event) and cores-bound (the three share this
       machine's cores; assumes Redis runs here).

Lines: ~80% traffic (close/accept/deny), ~10% UTM (webfilter, IPS, app control), ~10% events (user
authentication, SSL-VPN tunnel up/down), in FortiOS default format, from a seeded generator.

Redis: --redis, else REDIS_URL, else a private redis-server (needs redis-server on PATH), stopped after.
On a named Redis the worker writes only under a key prefix of its own (fortistream-bench-<random>:), about
2 KB per event and stream; at the end the bench deletes exactly the keys with that prefix (SCAN MATCH prefix*
+ UNLINK), also when the run fails or is interrupted. It refuses to start when the Redis's maxmemory leaves no
room for them (they could evict your keys).

With --pipeline, e2e keeps its parsing, sessions, counters, profiles, sinks, batching and spool (in a temp
folder), raises its sinks' max_len to at least --events so every entry can be counted, and leaves out
redis.url, api, devices, actions, feeds and counter actions: generated events never call a FortiGate or a
webhook.`;
