import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RESTART_SECTIONS, diffPipelines, isUnchanged, type PipelineDiff } from '../config/diff.js';
import type { PipelineFile } from '../config/pipeline.js';
import { errorMessage } from '../errors.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import type { ActionableAlert, StateStage } from '../state/stage.js';
import type { Source } from './contracts.js';
import { buildSource, type ComponentEnv, type FrameIntake } from './components.js';
import { EventPipeline } from './pipeline.js';
import { sequenceAbove } from './sequence.js';
import { createWriterLeases } from './writer-lease.js';
import { SpoolIntake } from './spool/intake.js';
import { Spool } from './spool/spool.js';
import type { RedisTls } from './redis.js';
import type { KeyringHandle } from './profiles.js';
import { createSinkSet } from './sink-set.js';
import { createSourceSet } from './source-set.js';

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
  /** Alerts of counters with an action (see state/stage.ts); must not throw. */
  readonly onActionAlerts?: (alerts: readonly ActionableAlert[]) => void;
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
  /** The pipeline in force (after reloads; restart-only sections stay as they were at start). */
  readonly config: Readonly<PipelineFile>;
  /**
   * Switches to `next` without dropping or repeating an event (see README "Hot reload"). Rejects, with
   * nothing changed, when a part cannot be built (a keyring that cannot be opened); a source that cannot
   * bind is refused alone and reported in `problems`.
   */
  reconfigure(next: Readonly<PipelineFile>): Promise<WorkerReconfigureResult>;
}

export interface WorkerReconfigureResult {
  /** Between the pipeline that ran and `next` (restart-only sections included, not applied). */
  readonly diff: PipelineDiff;
  /** False when nothing reloadable changed. */
  readonly applied: boolean;
  /** Parts refused while the rest was applied: `sources.NAME: why`. */
  readonly problems: readonly string[];
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
  const { redis, logger } = options;
  const metrics = options.metrics ?? createMetrics();
  let config = options.pipeline;
  const env: ComponentEnv = {
    redis,
    redisUrl: options.redisUrl,
    redisTls: options.redisTls,
    logger,
    metrics,
    // One writer per sinks stream: its name tells this worker's applied sequences from others' (fixed at start).
    stateWriter: config.redis.key_prefix + (Object.values(config.sinks)[0]?.stream ?? 'events'),
    ...(options.onActionAlerts !== undefined ? { onActionAlerts: options.onActionAlerts } : {}),
  };
  const sinkSet = createSinkSet(env, config, options.keyrings);

  // The disk spool (opened at start, not reloadable): every frame is logged there first, see spool/intake.ts.
  let spool: Spool | undefined;
  let intake: SpoolIntake | undefined;
  const spoolLogger = logger.child({ component: 'spool' });
  const spoolMetrics = metrics.component('spool', 'disk');

  const eventPipeline = new EventPipeline({
    onCut: (_firstSeq, lastSeq) => spool?.cut(lastSeq),
    onBatchDone: (_firstSeq, lastSeq, written) => spool?.batchDone(lastSeq, written),
    settings: config.pipeline,
    sinks: sinkSet.list(),
    logger: logger.child({ component: 'pipeline' }),
    parseMetrics: metrics.component('parse', 'fortigate'),
    bufferMetrics: metrics.component('buffer', 'memory'),
  });

  // Sources hand frames to the spool's intake when the spool is on, else straight to the pipeline.
  const spooled = config.spool !== undefined;
  const ingress: FrameIntake = {
    accept: (frame) => (intake ? intake.accept(frame) : eventPipeline.accept(frame)),
    acceptOrDrop: (frame) => (intake ? intake.acceptOrDrop(frame) : eventPipeline.acceptOrDrop(frame)),
    acceptDead: (letter) => (intake ? intake.acceptDead(letter) : eventPipeline.acceptDead(letter)),
  };
  let currentSources: readonly Source[] = [];
  const sourceSet = createSourceSet(config.sources, {
    create: (name, settings) => buildSource(env, spooled ? ingress : eventPipeline, name, settings),
    onChange: (sources) => {
      currentSources = sources;
      // With the spool, the pipeline pauses the intake (which reads back later); the spool pauses the sockets when full.
      if (spooled) intake?.attachSources(sources);
      else eventPipeline.attachSources(sources);
    },
  });

  const writtenStreams = (): { events: string[]; dead: string[] } => {
    const prefix = config.redis.key_prefix;
    const values = Object.values(config.sinks);
    return {
      events: [...values.map((s) => prefix + s.stream), ...sinkSet.profiles().map((p) => p.stream)],
      dead: [...new Set(values.map((s) => prefix + s.dead_letter_stream))],
    };
  };

  const leases = createWriterLeases({
    redis,
    logger: logger.child({ component: 'writer-lease' }),
    ttlMs: config.redis.writer_lease_seconds * 1000,
    registry: metrics.registry,
  });

  let running = false;
  let sweepTimer: NodeJS.Timeout | undefined;
  let sweepEverySeconds: number | undefined;
  let sweeping = false;
  const sweepLogger = logger.child({ component: 'sweep' });
  /** (Re)starts the session sweep to match the config in force. */
  const syncSweeping = (): void => {
    const stage = sinkSet.state;
    const every = running && stage && config.sessions !== undefined ? config.sessions.sweep_interval_seconds : undefined;
    if (every === sweepEverySeconds) return;
    if (sweepTimer) clearInterval(sweepTimer);
    sweepTimer = undefined;
    sweepEverySeconds = every;
    if (every === undefined || !stage) return;
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
    }, every * 1000);
    sweepTimer.unref();
  };

  /** Reloads one at a time: each diffs against what the previous one left running. */
  let reconfiguring: Promise<unknown> = Promise.resolve();
  const reconfigureNow = async (file: Readonly<PipelineFile>): Promise<WorkerReconfigureResult> => {
    const diff = diffPipelines(config, file);
    if (isUnchanged(diff)) return { diff, applied: false, problems: [] };
    // Restart-only sections keep what runs (they also fix the key prefix every new part is built with).
    const kept: Partial<Record<string, unknown>> = {};
    for (const section of RESTART_SECTIONS) kept[section] = (config as Record<string, unknown>)[section];
    const next = { ...file, ...kept } as Readonly<PipelineFile>;
    const previous = config;
    const previousSources = config.sources;
    const prepared = await sinkSet.prepare(next, diff);
    // From here to eventPipeline.reconfigure nothing awaits: no event sees a half-switched worker.
    const { sinks, afterDrain } = prepared.apply();
    const drained = eventPipeline.reconfigure({ sinks, settings: next.pipeline });
    void drained.then(afterDrain).catch((error: unknown) => logger.warn({ err: errorMessage(error) }, 'closing replaced sinks failed'));
    config = next;
    const sources = await sourceSet.reconcile(previousSources, next.sources, diff.parts.sources);
    config = Object.freeze({ ...next, sources: Object.freeze(sources.running) });
    syncSweeping();
    // Every change refused (a source that cannot bind): the worker runs as before.
    const applied = sources.problems.length === 0 || !isUnchanged(diffPipelines(previous, config));
    return { diff, applied, problems: sources.problems };
  };

  return {
    metrics,
    pipeline: eventPipeline,
    get state() {
      return sinkSet.state;
    },
    get config() {
      return config;
    },
    async start() {
      // Every stream written, read again on each lease renewal (a reload may change them).
      const allWritten = (): string[] => {
        const now = writtenStreams();
        return [...new Set([...now.events, ...now.dead])];
      };
      const streams = allWritten();
      // One writer per stream (their entry ids would collide): refuse to start beside a live one.
      await leases.acquire(streams);
      leases.keep(allWritten);
      await startAboveStreams(redis, streams, eventPipeline, logger);
      if (config.spool !== undefined && spool === undefined) {
        const settings = config.spool;
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
        intake.attachSources(currentSources);
      }
      await sourceSet.start();
      running = true;
      syncSweeping();
    },
    async stop() {
      running = false;
      syncSweeping();
      const deadlineMs = Date.now() + config.pipeline.shutdown_timeout_seconds * 1000;
      await reconfiguring.catch(() => undefined);
      await sourceSet.stop();
      // With the spool, what was read is on disk already: read back what fits before the deadline.
      await intake?.finish(deadlineMs);
      const flushed = await eventPipeline.drain(Math.max(0, deadlineMs - Date.now()));
      // A sink may still wait on a frozen Redis: closing gets what is left of the deadline (≥ 1 s).
      await settledWithin([sinkSet.close()], Math.max(1000, deadlineMs - Date.now()));
      await settledWithin([leases.release()], 1000);
      const backlog = intake?.backlog === true;
      spool?.close();
      if (spool !== undefined && (!flushed || backlog)) {
        spoolLogger.warn({ checkpoint: spool.checkpoint }, 'shutdown deadline reached: what was not written stays in the spool for the next start');
      }
      return flushed && !backlog;
    },
    addresses() {
      const out: Record<string, { host: string; port: number }> = {};
      for (const source of sourceSet.list()) {
        const address = source.address();
        if (address) out[source.name] = address;
      }
      return out;
    },
    streams: writtenStreams,
    namedStreams() {
      const prefix = config.redis.key_prefix;
      const out: Record<string, string> = {};
      for (const [name, settings] of Object.entries(config.sinks)) out[name] = prefix + settings.stream;
      for (const profile of sinkSet.profiles()) out[profile.name] = profile.stream;
      return out;
    },
    async reloadKeyrings() {
      await sinkSet.reloadKeyrings();
    },
    reconfigure(next) {
      const result = reconfiguring.catch(() => undefined).then(() => reconfigureNow(next));
      reconfiguring = result;
      return result;
    },
  };
}
