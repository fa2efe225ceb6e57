import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { PipelineFile } from '../config/pipeline.js';
import { FortistreamError, errorMessage } from '../errors.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { createRedisStreamsSink } from '../sinks/redis-streams.js';
import { createSyslogSource } from '../sources/syslog/index.js';
import { compileRules } from '../state/rules.js';
import { createStateStage, type StateStage } from '../state/stage.js';
import type { Sink, Source, SourceContext } from './contracts.js';
import { EventPipeline } from './pipeline.js';
import { sequenceAbove } from './sequence.js';
import { SpoolIntake } from './spool/intake.js';
import { Spool } from './spool/spool.js';
import type { RedisTls } from './redis.js';
import { compileProfiles, createProfileSink, keyringOrigin, type KeyringHandle } from './profiles.js';

export interface WorkerOptions {
  readonly pipeline: Readonly<PipelineFile>;
  /** A connected client; the worker does not own it (the caller quits it). */
  readonly redis: Redis;
  /** The same server's URL: the stream sinks open their own raw connection for pipelined XADD. */
  readonly redisUrl?: string;
  /** TLS for a `rediss://` redisUrl (`loadRedisTls`): the sinks' own connections use it too. */
  readonly redisTls?: RedisTls | undefined;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** Open keyrings by origin (`openKeyrings`), for the ml/agent profiles; the worker closes them on stop. */
  readonly keyrings?: ReadonlyMap<string, KeyringHandle>;
}

export interface Worker {
  readonly metrics: Metrics;
  readonly pipeline: EventPipeline;
  /** Opens every listener; rejects (after closing those already open) when one cannot bind. */
  start(): Promise<void>;
  /** Stops accepting, flushes what was read, closes. Resolves true when nothing was lost. */
  stop(): Promise<boolean>;
  /** Bound addresses by source name (port 0 in the file resolves here). */
  addresses(): Record<string, { host: string; port: number }>;
  /** Full names of the streams this worker writes, for display. */
  streams(): { events: string[]; dead: string[] };
  /** Full stream name by sink or profile name (what the API serves at /v1/events/<name>). */
  namedStreams(): Record<string, string>;
  /** Re-reads every keyring file now (SIGHUP); a bad file keeps the keys in force (logged). */
  reloadKeyrings(): Promise<void>;
  /** The state stage, when the pipeline declares sessions or counters. */
  readonly state: StateStage | undefined;
}

/**
 * Starts the frame sequences above the last entry id of every stream the worker writes: entry ids come
 * from them, and Redis takes an id not above a stream's last for a duplicate (a clock that went back,
 * a stream written before). Redis away: the clock alone (logged).
 */
async function startAboveStreams(redis: Redis, streams: readonly string[], pipeline: EventPipeline, logger: Logger): Promise<void> {
  try {
    const tops = await Promise.all(streams.map((stream) => redis.xrevrange(stream, '+', '-', 'COUNT', 1)));
    for (const rows of tops) {
      const id = rows[0]?.[0];
      if (id !== undefined) pipeline.sequencer.startAtLeast(sequenceAbove(id));
    }
  } catch (error) {
    logger.warn({ err: errorMessage(error) }, 'cannot read the streams\' last ids; entry ids start from the clock');
  }
}

/** Waits for the promises to settle, or `ms`, whichever comes first. */
async function settledWithin(promises: readonly Promise<unknown>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(promises),
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** Assembles sources → parse → batch → sinks from a validated pipeline. Never listens until start(). */
export function createWorker(options: WorkerOptions): Worker {
  const { pipeline, redis, logger } = options;
  const metrics = options.metrics ?? createMetrics();
  const prefix = pipeline.redis.key_prefix;

  const sinks: Sink[] = Object.entries(pipeline.sinks).map(([name, settings]) =>
    createRedisStreamsSink({
      name,
      redis,
      // Explicit ids (the frames' sequences): a retried or replayed batch is not duplicated.
      ...(options.redisUrl !== undefined ? { url: options.redisUrl, explicitIds: true } : {}),
      ...(options.redisTls !== undefined ? { tls: options.redisTls } : {}),
      settings: {
        ...settings,
        stream: prefix + settings.stream,
        dead_letter_stream: prefix + settings.dead_letter_stream,
      },
      metrics: metrics.component(name, settings.type),
      logger: logger.child({ component: name }),
      redisLatency: metrics.redisLatency,
    }),
  );

  const keyrings = options.keyrings ?? new Map<string, KeyringHandle>();
  const profiles = compileProfiles(pipeline);
  for (const profile of profiles) {
    if (profile.type === 'soc' || (profile.keyring !== undefined && keyrings.has(keyringOrigin(profile.keyring)))) continue;
    throw new FortistreamError('FST_KEYRING_INVALID', `profile "${profile.name}": its keyring was not opened (call openKeyrings first)`);
  }
  const profileSinks: Sink[] = profiles.map((profile) =>
    createProfileSink({
      profile,
      keyring: profile.keyring === undefined ? undefined : keyrings.get(keyringOrigin(profile.keyring)),
      redis,
      redisUrl: options.redisUrl,
      redisTls: options.redisTls,
      metrics,
      logger: logger.child({ component: profile.name }),
      batchMaxEvents: pipeline.pipeline.batch_max_events,
    }),
  );

  let state: StateStage | undefined;
  if (pipeline.sessions !== undefined || pipeline.counters !== undefined) {
    state = createStateStage({
      redis,
      rules: compileRules(pipeline.sessions, pipeline.counters),
      prefix,
      auditStream: prefix + pipeline.audit.stream,
      auditMaxLen: pipeline.audit.max_len,
      auditRefresh: pipeline.sessions?.audit_refresh ?? false,
      alertsStream: prefix + pipeline.alerts.stream,
      alertsMaxLen: pipeline.alerts.max_len,
      metrics: metrics.component('state', 'redis'),
      counters: metrics,
      logger: logger.child({ component: 'state' }),
      // One writer per sinks stream: its name tells this worker's applied sequences from others'.
      writer: prefix + (Object.values(pipeline.sinks)[0]?.stream ?? 'events'),
    });
  }

  // The disk spool (opened at start): every frame is logged there first, see spool/intake.ts.
  let spool: Spool | undefined;
  let intake: SpoolIntake | undefined;
  const spoolLogger = logger.child({ component: 'spool' });
  const spoolMetrics = metrics.component('spool', 'disk');

  const eventPipeline = new EventPipeline({
    onCut: (_firstSeq, lastSeq) => spool?.cut(lastSeq),
    onBatchDone: (_firstSeq, lastSeq, written) => spool?.batchDone(lastSeq, written),
    settings: pipeline.pipeline,
    sinks: state ? [...sinks, ...profileSinks, state] : [...sinks, ...profileSinks],
    logger: logger.child({ component: 'pipeline' }),
    parseMetrics: metrics.component('parse', 'fortigate'),
    bufferMetrics: metrics.component('buffer', 'memory'),
  });

  const sources: Source[] = Object.entries(pipeline.sources).map(([name, settings]) => {
    const spooled = pipeline.spool !== undefined;
    const context: SourceContext = {
      emit: spooled
        ? settings.mode === 'udp'
          ? (frame) => (intake as SpoolIntake).acceptOrDrop(frame)
          : (frame) => (intake as SpoolIntake).accept(frame)
        : settings.mode === 'udp'
          ? eventPipeline.acceptOrDrop
          : eventPipeline.accept,
      dead: spooled ? (letter) => (intake as SpoolIntake).acceptDead(letter) : eventPipeline.acceptDead,
      logger: logger.child({ component: name }),
      metrics: metrics.component(name, `syslog_${settings.mode}`),
    };
    return createSyslogSource(name, settings, context);
  });
  if (pipeline.spool === undefined) eventPipeline.attachSources(sources);

  const writtenStreams = (): { events: string[]; dead: string[] } => {
    const values = Object.values(pipeline.sinks);
    return {
      events: [...values.map((s) => prefix + s.stream), ...profiles.map((p) => p.stream)],
      dead: [...new Set(values.map((s) => prefix + s.dead_letter_stream))],
    };
  };

  let started: Source[] = [];
  let sweepTimer: NodeJS.Timeout | undefined;
  let sweeping = false;
  const sweepLogger = logger.child({ component: 'sweep' });
  const startSweeping = (): void => {
    if (!state || pipeline.sessions === undefined) return;
    const stage = state;
    // Redis TTL alone would expire sessions silently; the sweep audits each expiry within a second or so.
    sweepTimer = setInterval(() => {
      if (sweeping) return;
      sweeping = true;
      stage
        .sweep()
        .catch((error: unknown) => sweepLogger.warn({ err: errorMessage(error) }, 'session sweep failed; retrying'))
        .finally(() => {
          sweeping = false;
        });
    }, pipeline.sessions.sweep_interval_seconds * 1000);
    sweepTimer.unref();
  };

  return {
    metrics,
    pipeline: eventPipeline,
    state,
    async start() {
      const written = writtenStreams();
      await startAboveStreams(redis, [...new Set([...written.events, ...written.dead])], eventPipeline, logger);
      if (pipeline.spool !== undefined && spool === undefined) {
        const settings = pipeline.spool;
        spool = new Spool({
          dir: settings.dir,
          maxBytes: settings.max_bytes,
          fsync: settings.fsync,
          fsyncIntervalMs: settings.fsync_interval_ms,
          logger: spoolLogger,
          metrics: spoolMetrics,
        });
        intake = new SpoolIntake(eventPipeline, spool, spoolMetrics, spoolLogger);
        eventPipeline.attachSources([intake.pressure]);
        intake.attachSources(sources);
      }
      for (const source of sources) {
        try {
          await source.start();
          started.push(source);
        } catch (error) {
          await Promise.allSettled(started.map((s) => s.stop()));
          started = [];
          throw new FortistreamError('FST_LISTEN_FAILED', `source "${source.name}" cannot listen: ${errorMessage(error)}`, {
            cause: error,
          });
        }
      }
      startSweeping();
    },
    async stop() {
      if (sweepTimer) clearInterval(sweepTimer);
      const deadlineMs = Date.now() + pipeline.pipeline.shutdown_timeout_seconds * 1000;
      await Promise.allSettled(started.map((s) => s.stop()));
      started = [];
      // With the spool, what was read is on disk already: read back what fits before the deadline.
      await intake?.finish(deadlineMs);
      const flushed = await eventPipeline.drain(Math.max(0, deadlineMs - Date.now()));
      // A sink may still wait on a frozen Redis: closing gets what is left of the deadline (≥ 1 s).
      await settledWithin(
        [...sinks, ...profileSinks, ...(state ? [state] : [])].map((s) => s.close()),
        Math.max(1000, deadlineMs - Date.now()),
      );
      for (const keyring of keyrings.values()) keyring.close();
      const backlog = intake?.backlog === true;
      spool?.close();
      if (spool !== undefined && (!flushed || backlog)) {
        spoolLogger.warn({ checkpoint: spool.checkpoint }, 'shutdown deadline reached: what was not written stays in the spool for the next start');
      }
      return flushed && !backlog;
    },
    addresses() {
      const out: Record<string, { host: string; port: number }> = {};
      for (const source of sources) {
        const address = source.address();
        if (address) out[source.name] = address;
      }
      return out;
    },
    streams: writtenStreams,
    namedStreams() {
      const out: Record<string, string> = {};
      for (const [name, settings] of Object.entries(pipeline.sinks)) out[name] = prefix + settings.stream;
      for (const profile of profiles) out[profile.name] = profile.stream;
      return out;
    },
    async reloadKeyrings() {
      await Promise.all([...keyrings.values()].map((keyring) => keyring.reload()));
    },
  };
}
