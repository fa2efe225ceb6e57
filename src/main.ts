import type { Logger } from 'pino';
import { loadPipelineFile } from './config/load.js';
import type { PipelineOverrides } from './config/overrides.js';
import type { PipelineDiff } from './config/diff.js';
import type { PipelineFile } from './config/pipeline.js';
import { createPipelineReloader, type ReloadOutcome, type ReloadTrigger } from './config/reload.js';
import { safeRedisUrl } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { connectRedis, loadRedisTls, redisTlsOptions, resolveRedis, type RedisTlsOverrides } from './runtime/redis.js';
import { createWorker, type Worker } from './runtime/worker.js';
import { openKeyrings } from './runtime/profiles.js';
import { createApiApp } from './api/app.js';
import type { ApiState, OpsOptions } from './api/ops.js';
import { startApiServer, type ApiServer } from './api/server.js';
import { loadTokenFile, type TokenStore } from './api/tokens.js';
import { FortistreamError, errorMessage } from './errors.js';
import { compileRules } from './state/rules.js';
import type { StateStage } from './state/stage.js';
import { startEnforcement, type Enforcement } from './runtime/enforcement.js';

export interface RunOptions extends PipelineOverrides {
  readonly pipelineFile: string;
  readonly redisUrl?: string | undefined;
  /** --redis-ca / --redis-cert / --redis-key (replace the pipeline's redis.tls files). */
  readonly redisTls?: RedisTlsOverrides | undefined;
  readonly logger: Logger;
  /** `HOST:PORT` of the HTTP API (replaces the pipeline's api.address). */
  readonly api?: string | undefined;
  /** Reload when the pipeline file changes (`run` does unless --no-watch); `reload()` and SIGHUP work regardless. */
  readonly watch?: boolean | undefined;
  /** Quiet time after a file change before reloading (default 300 ms). */
  readonly watchDebounceMs?: number | undefined;
}

/** What an `onReload` listener is told after a reload was applied. */
export interface PipelineReloadEvent {
  readonly previous: Readonly<PipelineFile>;
  readonly next: Readonly<PipelineFile>;
  readonly diff: PipelineDiff;
}

/** Takes over the parts of a reload the worker does not own (e.g. `actions:`, `feeds:`); a throw is logged as a refused part. */
export type ReloadListener = (event: PipelineReloadEvent) => void | Promise<void>;

export interface RunningWorker {
  readonly worker: Worker;
  readonly redisUrl: string;
  /** The HTTP API, when api.address or --api asked for it. */
  readonly api: ApiServer | undefined;
  /** Re-reads, validates and applies the pipeline file now (what SIGHUP does); never rejects. */
  reload(trigger?: ReloadTrigger): Promise<ReloadOutcome>;
  /** Calls `listener` after every applied reload, in order of registration; returns an unsubscribe. */
  onReload(listener: ReloadListener): () => void;
  /** Stops the worker, the Redis connection and a private redis-server we started. */
  shutdown(): Promise<boolean>;
}

/** What the operations routes need from the running worker; follows pipeline reloads. */
function apiOps(worker: Worker, enforcement: Enforcement): OpsOptions {
  let cached: { stage: StateStage; config: Readonly<PipelineFile>; state: ApiState } | undefined;
  return {
    worker,
    get state(): ApiState | undefined {
      const stage = worker.state;
      if (stage === undefined) return undefined;
      const config = worker.config;
      if (cached?.stage === stage && cached.config === config) return cached.state;
      const rules = compileRules(config.sessions, config.counters);
      const keyFields = new Map((config.counters ?? []).map((counter) => [counter.name, counter.key]));
      const state: ApiState = {
        sessions: stage.sessions,
        counters: rules.counters.map((spec) => ({ spec, key: keyFields.get(spec.name) ?? [] })),
        resolveTimeout: (method, groups) => rules.resolveTimeout(method, groups),
      };
      cached = { stage, config, state };
      return state;
    },
    get enforcement() {
      return enforcement.revocation();
    },
    get expectedListeners() {
      return Object.keys(worker.config.sources).length;
    },
    // Lag: the pipeline pauses its sources at buffer_max_bytes; not ready from 90 % on.
    get maxBufferedBytes() {
      return Math.floor(worker.config.pipeline.buffer_max_bytes * 0.9);
    },
    get udpSources() {
      return Object.entries(worker.config.sources)
        .filter(([, source]) => source.mode === 'udp')
        .map(([name]) => name);
    },
  };
}

/** Process entry for `fortistream run`: config → Redis → worker → listeners. Signals are the caller's. */
export async function startWorker(options: RunOptions): Promise<RunningWorker> {
  const { logger } = options;
  const { pipeline, file } = loadPipelineFile(options.pipelineFile, { overrides: options });
  const apiAddress = options.api ?? pipeline.api?.address;
  if (apiAddress !== undefined && pipeline.api === undefined) {
    throw new FortistreamError('FST_CONFIG_INVALID', `${file}: api: the API needs an "api:" section with tokens_file (bearer tokens)`);
  }
  // Keys and tokens first: a bad file stops the start before anything listens.
  let tokens = apiAddress !== undefined && pipeline.api !== undefined ? await loadTokenFile(pipeline.api.tokens_file) : undefined;
  // The API holds this view; a reload swaps the store behind it (a bad file keeps the tokens in force).
  const tokenView: TokenStore = { authenticate: (header) => tokens?.authenticate(header) };
  const keyrings = await openKeyrings(pipeline.profiles, logger.child({ component: 'keyring' }));
  const choice = await resolveRedis({
    optionUrl: options.redisUrl,
    envUrl: process.env.REDIS_URL,
    pipelineUrl: pipeline.redis.url,
    probeLocal: true,
    logger,
  });
  try {
    const redisTls = await loadRedisTls(choice.url, pipeline.redis.tls, options.redisTls, logger);
    const redis = await connectRedis(choice.url, pipeline.redis.connect_timeout_ms, redisTlsOptions(redisTls));
    const metrics = createMetrics();
    let enforcement: Enforcement;
    try {
      enforcement = await startEnforcement({ pipeline, redis, redisUrl: choice.url, redisTls, logger, metrics });
    } catch (error) {
      redis.disconnect();
      throw error;
    }
    const worker = createWorker({
      pipeline,
      redis,
      redisUrl: choice.url,
      redisTls,
      logger,
      keyrings,
      metrics,
      onActionAlerts: enforcement.onActionAlerts,
    });
    let api: ApiServer | undefined;
    // Updated in place after reloads: the API looks names up per request.
    const apiStreams: Record<string, string> = { ...worker.namedStreams() };
    try {
      await worker.start();
      if (apiAddress !== undefined && tokens !== undefined && pipeline.api !== undefined) {
        const app = createApiApp({
          redis,
          streams: apiStreams,
          tokens: tokenView,
          logger: logger.child({ component: 'api' }),
          keepaliveMs: pipeline.api.keepalive_seconds * 1000,
          maxSseClients: pipeline.api.max_sse_clients,
          ops: apiOps(worker, enforcement),
          ...(enforcement.feeds.length > 0 ? { feeds: { keys: enforcement.keys, feeds: enforcement.feeds, registry: worker.metrics.registry } } : {}),
        });
        try {
          api = await startApiServer(app, apiAddress, pipeline.api.tls !== undefined ? { tls: pipeline.api.tls } : {});
        } catch (error) {
          throw new FortistreamError('FST_LISTEN_FAILED', `the API cannot listen on ${apiAddress}: ${errorMessage(error)}`, { cause: error });
        }
        const bound = api.address();
        logger.info({ address: `${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}` }, 'api listening');
      }
    } catch (error) {
      await worker.stop().catch(() => false);
      await enforcement.close().catch(() => undefined);
      redis.disconnect();
      throw error;
    }
    logger.info(
      { pipeline: file, redis: safeRedisUrl(choice.url), redis_origin: choice.origin, streams: worker.streams() },
      'worker started',
    );
    const listeners: ReloadListener[] = [];
    const reloadLogger = logger.child({ component: 'reload' });
    const reloader = createPipelineReloader({
      file,
      overrides: options,
      logger: reloadLogger,
      reloads: worker.metrics.reloads,
      watch: options.watch === true,
      ...(options.watchDebounceMs !== undefined ? { debounceMs: options.watchDebounceMs } : {}),
      async apply(next) {
        const tokensFile = worker.config.api?.tokens_file;
        if (api !== undefined && tokensFile !== undefined) {
          try {
            tokens = await loadTokenFile(tokensFile);
          } catch (error) {
            reloadLogger.warn({ file: tokensFile, err: errorMessage(error) }, 'api tokens not re-read; the tokens in force stay');
          }
        }
        const previous = worker.config;
        // Devices and actions first: a token file that cannot be read rejects the reload before anything changed.
        await enforcement.reconfigure(next);
        const result = await worker.reconfigure(next);
        if (!result.applied) return result;
        const streams = worker.namedStreams();
        for (const name of Object.keys(apiStreams)) if (!Object.hasOwn(streams, name)) delete apiStreams[name];
        Object.assign(apiStreams, streams);
        const problems = [...result.problems];
        for (const listener of [...listeners]) {
          try {
            await listener({ previous, next: worker.config, diff: result.diff });
          } catch (error) {
            problems.push(`reload listener: ${errorMessage(error)}`);
          }
        }
        return { ...result, problems };
      },
    });
    let stopping: Promise<boolean> | undefined;
    return {
      worker,
      redisUrl: choice.url,
      api,
      reload: (trigger = 'request') => reloader.reload(trigger),
      onReload(listener) {
        listeners.push(listener);
        return () => {
          const index = listeners.indexOf(listener);
          if (index >= 0) listeners.splice(index, 1);
        };
      },
      shutdown() {
        stopping ??= (async () => {
          reloader.close();
          await api?.close();
          const flushed = await worker.stop();
          // After the worker: alerts of its last batches still become jobs.
          await enforcement.close().catch((error: unknown) => logger.warn({ err: errorMessage(error) }, 'closing the actions queue failed'));
          // QUIT waits for Redis's reply: a frozen or gone Redis must not hold the exit.
          let quitTimer: NodeJS.Timeout | undefined;
          const quitted = await Promise.race([
            redis.quit().then(() => true, () => false),
            new Promise<boolean>((resolve) => {
              quitTimer = setTimeout(() => resolve(false), 1000);
            }),
          ]);
          clearTimeout(quitTimer);
          if (!quitted) redis.disconnect();
          if (choice.privateServer) await choice.privateServer.stop();
          return flushed;
        })();
        return stopping;
      },
    };
  } catch (error) {
    for (const keyring of keyrings.values()) keyring.close();
    if (choice.privateServer) await choice.privateServer.stop();
    throw error;
  }
}

/**
 * Runs until SIGINT/SIGTERM, then flushes and exits (a second signal exits at once). SIGHUP re-reads
 * the keyring files (a bad file keeps the keys in force and is logged) and reloads the pipeline file
 * (an invalid one keeps the running pipeline and is logged).
 */
export async function runUntilSignal(options: RunOptions): Promise<number> {
  // Handlers first: a SIGTERM while the worker starts shuts it down once started, not by default death.
  let stopRequested: NodeJS.Signals | undefined;
  let onSignal: (signal: NodeJS.Signals) => void = (signal) => {
    stopRequested ??= signal;
  };
  const signalHandler = (signal: NodeJS.Signals): void => onSignal(signal);
  process.on('SIGINT', signalHandler);
  process.on('SIGTERM', signalHandler);
  let running: Awaited<ReturnType<typeof startWorker>>;
  try {
    running = await startWorker(options);
  } catch (error) {
    process.off('SIGINT', signalHandler);
    process.off('SIGTERM', signalHandler);
    throw error;
  }
  return new Promise((resolve) => {
    let signalled = false;
    onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        options.logger.warn({ signal }, 'second signal: exiting without flushing');
        resolve(130);
        return;
      }
      signalled = true;
      options.logger.info({ signal }, 'shutting down: flushing what was read');
      void running.shutdown().then((flushed) => {
        options.logger.info({ flushed }, 'stopped');
        resolve(flushed ? 0 : 1);
      });
    };
    const onHangup = (): void => {
      if (signalled) return;
      options.logger.info('SIGHUP: re-reading keyrings and the pipeline file');
      void running.worker.reloadKeyrings().catch((error: unknown) => options.logger.warn({ err: errorMessage(error) }, 'keyring reload failed'));
      void running.reload('signal');
    };
    process.on('SIGHUP', onHangup);
    if (stopRequested !== undefined) onSignal(stopRequested);
  });
}
