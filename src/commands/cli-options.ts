/**
 * The command line's argument parsers and shared options (cli.ts registers the commands): each
 * parser turns a bad value into commander's usage error.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { loadPipelineFile } from '../config/load.js';
import type { RedisTlsOverrides } from '../runtime/redis.js';
import { defaultPipelinePath } from './context.js';

export const DEFAULT_PIPELINE = 'pipelines/default.yaml';

export function hostPort(value: string): string {
  if (!/^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):\d{1,5}$/.test(value)) {
    throw new InvalidArgumentError('expected HOST:PORT, e.g. 0.0.0.0:5514 or [::]:5514');
  }
  return value;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

/** Most events `bench` takes: it holds the generated lines in memory (~0.8 KB each), Redis ~2 KB per entry. */
export const MAX_BENCH_EVENTS = 1_000_000;

export function benchEvents(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > MAX_BENCH_EVENTS) {
    throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_BENCH_EVENTS.toLocaleString('en-US')}`);
  }
  return n;
}

export function seed(value: string): number {
  const n = Number(value);
  if (!/^\d{1,10}$/.test(value) || n > 0xffffffff) throw new InvalidArgumentError('expected a whole number from 0 to 4294967295');
  return n;
}

export function seconds(value: string): number {
  const n = Number(value);
  if (!/^\d{1,10}$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected whole seconds ≥ 0 (0 = until cleared)');
  return n;
}

export function isoTime(value: string): number {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new InvalidArgumentError('expected an ISO 8601 time, e.g. 2026-12-04T10:00:00Z');
  return ms;
}

/** --redis, then REDIS_URL, then the pipeline's redis.url, then 127.0.0.1:6379. */
export function readRedisUrl(option: string | undefined, pipelineFile: string | undefined): string {
  if (option) return option;
  if (process.env.REDIS_URL) return process.env.REDIS_URL;
  const { pipeline } = loadPipelineFile(pipelineFile ?? defaultPipelinePath());
  return pipeline.redis.url ?? 'redis://127.0.0.1:6379';
}

export interface RedisTlsFlags {
  redisCa?: string;
  redisCert?: string;
  redisKey?: string;
}

/** Adds --redis-ca, --redis-cert and --redis-key (used with rediss:// URLs only). */
export function addRedisTlsOptions(command: Command): Command {
  return command
    .option('--redis-ca <file>', 'PEM CA file the Redis server certificate must chain to (rediss:// only; replaces redis.tls.ca_file)')
    .option('--redis-cert <file>', 'PEM client certificate for Redis (rediss:// only; needs --redis-key or redis.tls.key_file)')
    .option('--redis-key <file>', 'PEM private key of the Redis client certificate (mode 600; replaces redis.tls.key_file)');
}

export function redisTlsOverrides(flags: RedisTlsFlags): RedisTlsOverrides {
  return { caFile: flags.redisCa, certFile: flags.redisCert, keyFile: flags.redisKey };
}

export function redisUrl(value: string): string {
  if (!/^rediss?:\/\//.test(value)) throw new InvalidArgumentError('expected a redis:// or rediss:// URL');
  return value;
}

/** `--redis <url>`, checked to be a redis:// or rediss:// URL; `description` says where the default comes from. */
export const redisOption = (
  description = 'Redis URL (default: $REDIS_URL, the pipeline\'s redis.url, 127.0.0.1:6379, or a private redis-server)',
): Option => new Option('--redis <url>', description).argParser(redisUrl);
