import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { loadPipelineFile } from '../config/load.js';
import type { PipelineFile } from '../config/pipeline.js';
import { packageRoot } from '../runtime/package-root.js';
import { connectRedis, loadRedisTls, redisTlsOptions, type RedisTlsOverrides } from '../runtime/redis.js';

export interface CommandContextOptions {
  readonly redisUrl?: string | undefined;
  readonly pipelineFile?: string | undefined;
  /** --redis-ca / --redis-cert / --redis-key (replace the pipeline's redis.tls files). */
  readonly redisTls?: RedisTlsOverrides | undefined;
}

/** What the read commands (sessions, counters, …) share: the pipeline, its key prefix, a Redis client. */
export interface CommandContext {
  readonly pipeline: Readonly<PipelineFile>;
  readonly pipelineFile: string;
  readonly prefix: string;
  readonly redis: Redis;
  close(): Promise<void>;
}

/** The pipeline named on the command line, else ./pipelines/default.yaml, else the packaged default. */
export function defaultPipelinePath(): string {
  const local = join(process.cwd(), 'pipelines', 'default.yaml');
  return existsSync(local) ? local : join(packageRoot(), 'pipelines', 'default.yaml');
}

/**
 * Opens the pipeline and Redis for a command that reads or changes state. Redis: --redis, then
 * REDIS_URL, then the pipeline's redis.url, then 127.0.0.1:6379 (never a private server: it would be empty).
 */
export async function openCommandContext(options: CommandContextOptions): Promise<CommandContext> {
  const pipelineFile = options.pipelineFile ?? defaultPipelinePath();
  const { pipeline } = loadPipelineFile(pipelineFile);
  const url = options.redisUrl ?? process.env.REDIS_URL ?? pipeline.redis.url ?? 'redis://127.0.0.1:6379';
  const tls = await loadRedisTls(url, pipeline.redis.tls, options.redisTls);
  const redis = await connectRedis(url, pipeline.redis.connect_timeout_ms, redisTlsOptions(tls));
  return {
    pipeline,
    pipelineFile,
    prefix: pipeline.redis.key_prefix,
    redis,
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** Renders rows as aligned columns with a header line. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

/** "in 4m 10s" / "2m 3s ago" for a time relative to now. */
export function relativeTime(targetMs: number, nowMs: number): string {
  const delta = Math.round((targetMs - nowMs) / 1000);
  const abs = Math.abs(delta);
  const text = abs >= 3600 ? `${Math.floor(abs / 3600)}h ${Math.floor((abs % 3600) / 60)}m` : abs >= 60 ? `${Math.floor(abs / 60)}m ${abs % 60}s` : `${abs}s`;
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}
