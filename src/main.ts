import type { Logger } from 'pino';
import { loadPipelineFile } from './config/load.js';
import type { PipelineOverrides } from './config/overrides.js';
import { safeRedisUrl } from './observability/logger.js';
import { connectRedis, resolveRedis } from './runtime/redis.js';
import { createWorker, type Worker } from './runtime/worker.js';

export interface RunOptions extends PipelineOverrides {
  readonly pipelineFile: string;
  readonly redisUrl?: string | undefined;
  readonly logger: Logger;
}

export interface RunningWorker {
  readonly worker: Worker;
  readonly redisUrl: string;
  /** Stops the worker, the Redis connection and a private redis-server we started. */
  shutdown(): Promise<boolean>;
}

/** Process entry for `fortistream run`: config → Redis → worker → listeners. Signals are the caller's. */
export async function startWorker(options: RunOptions): Promise<RunningWorker> {
  const { logger } = options;
  const { pipeline, file } = loadPipelineFile(options.pipelineFile, { overrides: options });
  const choice = await resolveRedis({
    optionUrl: options.redisUrl,
    envUrl: process.env.REDIS_URL,
    pipelineUrl: pipeline.redis.url,
    probeLocal: true,
    logger,
  });
  try {
    const redis = await connectRedis(choice.url, pipeline.redis.connect_timeout_ms);
    const worker = createWorker({ pipeline, redis, redisUrl: choice.url, logger });
    try {
      await worker.start();
    } catch (error) {
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
      shutdown() {
        stopping ??= (async () => {
          const flushed = await worker.stop();
          await redis.quit().catch(() => redis.disconnect());
          if (choice.privateServer) await choice.privateServer.stop();
          return flushed;
        })();
        return stopping;
      },
    };
  } catch (error) {
    if (choice.privateServer) await choice.privateServer.stop();
    throw error;
  }
}

/** Runs until SIGINT/SIGTERM, then flushes and exits (a second signal exits at once). */
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
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
