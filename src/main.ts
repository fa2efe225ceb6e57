import type { Logger } from 'pino';
import { loadPipelineFile } from './config/load.js';
import type { PipelineOverrides } from './config/overrides.js';
import { safeRedisUrl } from './observability/logger.js';
import { connectRedis, loadRedisTls, redisTlsOptions, resolveRedis, type RedisTlsOverrides } from './runtime/redis.js';
import { createWorker, type Worker } from './runtime/worker.js';
import { openKeyrings } from './runtime/profiles.js';
import { createApiApp } from './api/app.js';
import type { OpsOptions } from './api/ops.js';
import { startApiServer, type ApiServer } from './api/server.js';
import { loadTokenFile } from './api/tokens.js';
import { FortistreamError, errorMessage } from './errors.js';
import { compileRules } from './state/rules.js';

export interface RunOptions extends PipelineOverrides {
  readonly pipelineFile: string;
  readonly redisUrl?: string | undefined;
  /** --redis-ca / --redis-cert / --redis-key (replace the pipeline's redis.tls files). */
  readonly redisTls?: RedisTlsOverrides | undefined;
  readonly logger: Logger;
  /** `HOST:PORT` of the HTTP API (replaces the pipeline's api.address). */
  readonly api?: string | undefined;
}

export interface RunningWorker {
  readonly worker: Worker;
  readonly redisUrl: string;
  /** The HTTP API, when api.address or --api asked for it. */
  readonly api: ApiServer | undefined;
  /** Stops the worker, the Redis connection and a private redis-server we started. */
  shutdown(): Promise<boolean>;
}

/** What the operations routes need from the pipeline and the running worker. */
function apiOps(pipeline: ReturnType<typeof loadPipelineFile>['pipeline'], worker: Worker): OpsOptions {
  const rules = compileRules(pipeline.sessions, pipeline.counters);
  const keyFields = new Map((pipeline.counters ?? []).map((counter) => [counter.name, counter.key]));
  return {
    worker,
    ...(worker.state !== undefined
      ? {
          state: {
            sessions: worker.state.sessions,
            counters: rules.counters.map((spec) => ({ spec, key: keyFields.get(spec.name) ?? [] })),
            resolveTimeout: (method, groups) => rules.resolveTimeout(method, groups),
          },
        }
      : {}),
    expectedListeners: Object.keys(pipeline.sources).length,
    // Lag: the pipeline pauses its sources at buffer_max_bytes; not ready from 90 % on.
    maxBufferedBytes: Math.floor(pipeline.pipeline.buffer_max_bytes * 0.9),
    udpSources: Object.entries(pipeline.sources)
      .filter(([, source]) => source.mode === 'udp')
      .map(([name]) => name),
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
  const tokens = apiAddress !== undefined && pipeline.api !== undefined ? await loadTokenFile(pipeline.api.tokens_file) : undefined;
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
    const worker = createWorker({ pipeline, redis, redisUrl: choice.url, redisTls, logger, keyrings });
    let api: ApiServer | undefined;
    try {
      await worker.start();
      if (apiAddress !== undefined && tokens !== undefined && pipeline.api !== undefined) {
        const app = createApiApp({
          redis,
          streams: worker.namedStreams(),
          tokens,
          logger: logger.child({ component: 'api' }),
          keepaliveMs: pipeline.api.keepalive_seconds * 1000,
          maxSseClients: pipeline.api.max_sse_clients,
          ops: apiOps(pipeline, worker),
        });
        try {
          api = await startApiServer(app, apiAddress);
        } catch (error) {
          throw new FortistreamError('FST_LISTEN_FAILED', `the API cannot listen on ${apiAddress}: ${errorMessage(error)}`, { cause: error });
        }
        const bound = api.address();
        logger.info({ address: `${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}` }, 'api listening');
      }
    } catch (error) {
      await worker.stop().catch(() => false);
      redis.disconnect();
      throw error;
    }
    logger.info(
      { pipeline: file, redis: safeRedisUrl(choice.url), redis_origin: choice.origin, streams: worker.streams() },
      'worker started',
    );
    let stopping: Promise<boolean> | undefined;
    return {
      worker,
      redisUrl: choice.url,
      api,
      shutdown() {
        stopping ??= (async () => {
          await api?.close();
          const flushed = await worker.stop();
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
 * the keyring files (a bad file keeps the keys in force and is logged).
 */
export async function runUntilSignal(options: RunOptions): Promise<number> {
  const running = await startWorker(options);
  return new Promise((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals): void => {
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
      options.logger.info('SIGHUP: re-reading keyrings');
      void running.worker.reloadKeyrings().catch((error: unknown) => options.logger.warn({ err: errorMessage(error) }, 'keyring reload failed'));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onHangup);
  });
}
