import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RESTART_SECTIONS, diffPipelines, isUnchanged, type PipelineDiff } from '../config/diff.js';
import type { PipelineFile } from '../config/pipeline.js';
import { errorMessage } from '../errors.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import type { StateStage } from '../state/stage.js';
import { buildSource, type ComponentEnv } from './components.js';
import { EventPipeline } from './pipeline.js';
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

/** Assembles sources → parse → batch → sinks from a validated pipeline. Never listens until start(). */
export function createWorker(options: WorkerOptions): Worker {
  const { redis, logger } = options;
  const metrics = options.metrics ?? createMetrics();
  let config = options.pipeline;
  const env: ComponentEnv = { redis, redisUrl: options.redisUrl, redisTls: options.redisTls, logger, metrics };
  const sinkSet = createSinkSet(env, config, options.keyrings);

  const eventPipeline = new EventPipeline({
    settings: config.pipeline,
    sinks: sinkSet.list(),
    logger: logger.child({ component: 'pipeline' }),
    parseMetrics: metrics.component('parse', 'fortigate'),
    bufferMetrics: metrics.component('buffer', 'memory'),
  });

  const sourceSet = createSourceSet(config.sources, {
    create: (name, settings) => buildSource(env, eventPipeline, name, settings),
    onChange: (sources) => eventPipeline.attachSources(sources),
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
      await sourceSet.start();
      running = true;
      syncSweeping();
    },
    async stop() {
      running = false;
      syncSweeping();
      await reconfiguring.catch(() => undefined);
      await sourceSet.stop();
      const flushed = await eventPipeline.drain(config.pipeline.shutdown_timeout_seconds * 1000);
      await sinkSet.close();
      return flushed;
    },
    addresses() {
      const out: Record<string, { host: string; port: number }> = {};
      for (const source of sourceSet.list()) {
        const address = source.address();
        if (address) out[source.name] = address;
      }
      return out;
    },
    streams() {
      const prefix = config.redis.key_prefix;
      const values = Object.values(config.sinks);
      return {
        events: [...values.map((s) => prefix + s.stream), ...sinkSet.profiles().map((p) => p.stream)],
        dead: [...new Set(values.map((s) => prefix + s.dead_letter_stream))],
      };
    },
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
