/**
 * `fortistream replay FILE…`: runs saved FortiGate logs (a syslog server's files, an export, a
 * capture) through the pipeline of a pipeline file — parse, sessions and counters, profiles, sinks —
 * exactly as `run` does for live traffic, then exits once everything is written.
 *
 * Each file is framed as a TCP connection is (RFC 6587 octet counting or LF lines, detected from its
 * first bytes; `max_frame_bytes` of the pipeline's first syslog source, else 64 KiB), read with
 * back-pressure (a file bigger than the buffer is paused, not held in memory), and its events carry
 * `fortistream.source` = `--source` and `log.source.address` = `file:<path>`. Replay never starts
 * enforcement (no bans or webhooks from old logs), the API, the spool or listeners. It takes the
 * streams' writer leases like a worker: beside a running worker on the same streams it refuses
 * (FST_WRITER_CONFLICT); send the file to that worker instead (`fortistream replay --to`, see
 * replay-send.ts).
 */
import { createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { loadPipelineFile } from '../config/load.js';
import type { PipelineFile } from '../config/pipeline.js';
import { FortistreamError, errorMessage } from '../errors.js';
import { safeRedisUrl } from '../observability/logger.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import type { Source } from '../runtime/contracts.js';
import { openKeyrings } from '../runtime/profiles.js';
import { connectRedis, loadRedisTls, redisTlsOptions, resolveRedis, type RedisTlsOverrides } from '../runtime/redis.js';
import { createWorker, type Worker } from '../runtime/worker.js';
import { StreamFramer } from '../sources/syslog/framing.js';
import { parseReplayTarget, sendReplay } from './replay-send.js';

export interface ReplayOptions {
  /** Files to read, `-` for standard input. */
  readonly files: readonly string[];
  readonly pipelineFile: string;
  readonly redisUrl?: string | undefined;
  readonly redisTls?: RedisTlsOverrides | undefined;
  /** `fortistream.source` of the events (default `replay`). */
  readonly source: string;
  readonly json: boolean;
  readonly logger: Logger;
  readonly print: (line: string) => void;
  /** Standard input, for `-` (tests give their own). */
  readonly stdin?: Readable;
  /** Send to a running worker's listener (`tcp://`, `tls://`, `udp://`) instead of writing to Redis. */
  readonly to?: string | undefined;
  /** TLS with `to`: CA file, client certificate and key. */
  readonly ca?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
}

export interface ReplaySummary {
  readonly files: number;
  readonly bytes: number;
  /** Frames read from the files (each a log line, or a dead letter when framing failed). */
  readonly frames: number;
  /** Events written (parsed). */
  readonly events: number;
  /** Dead letters (framing and parsing), by reason code. */
  readonly dead: Readonly<Record<string, number>>;
  /** True when everything read was written before the shutdown deadline. */
  readonly written: boolean;
  readonly seconds: number;
  readonly redis: string;
  readonly streams: { readonly events: readonly string[]; readonly dead: readonly string[] };
}

const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;

/** The framing limits of the pipeline's first syslog source (a replayed file is framed like it). */
function framingOf(pipeline: Readonly<PipelineFile>): { maxFrameBytes: number; oversize: 'truncate' | 'dead_letter' } {
  const first = Object.values(pipeline.sources)[0];
  if (first === undefined) return { maxFrameBytes: DEFAULT_MAX_FRAME_BYTES, oversize: 'truncate' };
  return { maxFrameBytes: first.max_frame_bytes, oversize: first.oversize };
}

/** The parse stage's counts from the worker's metrics: events parsed, dead letters by reason. */
async function parseCounts(metrics: Metrics): Promise<{ events: number; dead: Record<string, number> }> {
  const sent = (await metrics.registry.getSingleMetric('fortistream_component_sent_events_total')?.get())?.values ?? [];
  const dropped = (await metrics.registry.getSingleMetric('fortistream_component_dropped_events_total')?.get())?.values ?? [];
  let events = 0;
  for (const value of sent) if (value.labels.component === 'parse') events += value.value;
  const dead: Record<string, number> = {};
  for (const value of dropped) {
    if (value.labels.component !== 'parse' || value.value === 0) continue;
    const reason = String(value.labels.reason);
    dead[reason] = (dead[reason] ?? 0) + value.value;
  }
  return { events, dead };
}

/** Reads one input into the pipeline, paused while the pipeline is full; resolves at its end. */
function readInto(worker: Worker, input: Readable, peer: string, source: string, framing: ReturnType<typeof framingOf>): Promise<{ bytes: number; frames: number }> {
  let bytes = 0;
  let frames = 0;
  const framer = new StreamFramer(framing, {
    frame(data, truncated) {
      frames += 1;
      worker.pipeline.accept({ data, truncated, source, peer, receivedAtMs: Date.now() });
    },
    dead(code, reason, raw) {
      frames += 1;
      worker.pipeline.acceptDead({ code, reason, stage: 'framing', raw, source, peer, receivedAtMs: Date.now() });
    },
  });
  const pausable: Source = {
    name: source,
    start: async () => undefined,
    stop: async () => undefined,
    pause: () => input.pause(),
    resume: () => input.resume(),
    address: () => undefined,
  };
  worker.pipeline.attachSources([pausable]);
  return new Promise((resolve, reject) => {
    input.on('data', (chunk: Buffer | string) => {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      bytes += buffer.length;
      framer.push(buffer);
    });
    input.once('error', reject);
    input.once('end', () => {
      framer.end();
      resolve({ bytes, frames });
    });
  });
}

function openInput(file: string, stdin: Readable | undefined): Readable {
  if (file === '-') return stdin ?? process.stdin;
  try {
    if (!statSync(file).isFile()) throw new Error('not a regular file');
  } catch (error) {
    throw new FortistreamError('FST_INPUT_UNREADABLE', `cannot read ${file}: ${errorMessage(error)}`);
  }
  return createReadStream(file, { highWaterMark: 256 * 1024 });
}

/** Largest frame read from a file in `--to` mode (the worker cuts at its own `max_frame_bytes`). */
const SEND_MAX_FRAME_BYTES = 1024 * 1024;

async function sendToWorker(options: ReplayOptions): Promise<number> {
  const target = parseReplayTarget(options.to as string);
  const started = performance.now();
  const result = await sendReplay(
    options.files.map((file) => openInput(file, options.stdin)),
    { target, ca: options.ca, cert: options.cert, key: options.key, maxFrameBytes: SEND_MAX_FRAME_BYTES },
  );
  const seconds = +((performance.now() - started) / 1000).toFixed(3);
  if (options.json) {
    options.print(JSON.stringify({ files: options.files.length, to: options.to, ...result, seconds }));
  } else {
    options.print(`sent ${result.frames} frames (${result.bytes} bytes) from ${options.files.length} file(s) to ${options.to} in ${seconds} s`);
    if (result.unframed > 0) options.print(`  ${result.unframed} frame(s) could not be delimited in the files and were not sent`);
  }
  return 0;
}

export async function replayCommand(options: ReplayOptions): Promise<number> {
  const { logger } = options;
  if (options.files.length === 0) throw new FortistreamError('FST_ARGUMENT_INVALID', 'replay: name at least one file (or - for standard input)');
  // Unreadable files stop the replay before anything is written.
  for (const file of options.files) if (file !== '-') openInput(file, undefined).destroy();
  if (options.to !== undefined) return sendToWorker(options);
  const { pipeline, file } = loadPipelineFile(options.pipelineFile);
  // Replay writes for keeps: a private redis-server (gone at exit) would throw the events away.
  const choice = await resolveRedis({
    optionUrl: options.redisUrl,
    envUrl: process.env.REDIS_URL,
    pipelineUrl: pipeline.redis.url,
    probeLocal: true,
    startPrivate: false,
    logger,
  });
  const keyrings = await openKeyrings(pipeline.profiles, logger.child({ component: 'keyring' }));
  const redisTls = await loadRedisTls(choice.url, pipeline.redis.tls, options.redisTls, logger);
  const redis = await connectRedis(choice.url, pipeline.redis.connect_timeout_ms, redisTlsOptions(redisTls));
  const metrics = createMetrics({ defaultMetrics: false });
  // The pipeline without what replay does not run: listeners, spool, API, enforcement.
  const { spool: _spool, api: _api, ...rest } = pipeline;
  const worker = createWorker({
    pipeline: Object.freeze({ ...rest, sources: {} }) as Readonly<PipelineFile>,
    redis,
    redisUrl: choice.url,
    redisTls,
    logger,
    keyrings,
    metrics,
  });
  const started = performance.now();
  let bytes = 0;
  let frames = 0;
  let written = false;
  try {
    await worker.start();
    logger.info({ pipeline: file, redis: safeRedisUrl(choice.url), files: options.files.length }, 'replay started');
    const framing = framingOf(pipeline);
    for (const name of options.files) {
      const read = await readInto(worker, openInput(name, options.stdin), name === '-' ? 'file:-' : `file:${name}`, options.source, framing);
      bytes += read.bytes;
      frames += read.frames;
    }
  } finally {
    written = await worker.stop();
    await redis.quit().catch(() => redis.disconnect());
    for (const keyring of keyrings.values()) keyring.close();
  }
  const counts = await parseCounts(metrics);
  const summary: ReplaySummary = {
    files: options.files.length,
    bytes,
    frames,
    events: counts.events,
    dead: counts.dead,
    written,
    seconds: +((performance.now() - started) / 1000).toFixed(3),
    redis: safeRedisUrl(choice.url),
    streams: worker.streams(),
  };
  if (options.json) {
    options.print(JSON.stringify(summary));
  } else {
    const deadTotal = Object.values(summary.dead).reduce((sum, n) => sum + n, 0);
    const reasons = Object.entries(summary.dead)
      .map(([reason, n]) => `${reason} ${n}`)
      .join(', ');
    options.print(`replayed ${summary.files} file(s), ${summary.bytes} bytes, ${summary.frames} frames in ${summary.seconds} s`);
    options.print(`  events written: ${summary.events} → ${summary.streams.events.join(', ')}`);
    options.print(`  dead letters:   ${deadTotal}${deadTotal > 0 ? ` (${reasons}) → ${summary.streams.dead.join(', ')}` : ''}`);
    if (!written) options.print('  NOT everything was written before the shutdown deadline (pipeline.shutdown_timeout_seconds): see the log');
  }
  return written ? 0 : 1;
}
