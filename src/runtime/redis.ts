import { readFile } from 'node:fs/promises';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisTlsSettings } from '../config/pipeline.js';
import { FortistreamError } from '../errors.js';
import { readSecretFile } from '../security/file-permissions.js';
import { safeRedisUrl } from '../observability/logger.js';
import { pingRedis, redisServerAvailable, startPrivateRedis, type PrivateRedis } from './redis-server.js';

export interface RedisChoice {
  readonly url: string;
  /** Where the URL came from, for the start-up log line. */
  readonly origin: 'option' | 'env' | 'pipeline' | 'local' | 'private';
  /** Set when we started our own redis-server; stop it with the worker. */
  readonly privateServer?: PrivateRedis;
}

export interface ResolveRedisOptions {
  readonly optionUrl?: string | undefined;
  readonly envUrl?: string | undefined;
  readonly pipelineUrl?: string | undefined;
  /** Probe 127.0.0.1:6379 before starting a private server (true for `run`, false for `demo`). */
  readonly probeLocal: boolean;
  /** Start a private redis-server when nothing else is found (default true; false for `replay`, whose writes must outlive it). */
  readonly startPrivate?: boolean;
  readonly logger?: Logger;
}

export const NO_REDIS_HELP =
  'No Redis is configured (--redis, REDIS_URL or redis.url in the pipeline), nothing answers on 127.0.0.1:6379, ' +
  'and redis-server is not on PATH to start a private one. Install it (Debian/Ubuntu: apt-get install redis-server; ' +
  'macOS: brew install redis), or run one with Docker: docker compose up -d redis (see README), ' +
  'or point --redis / REDIS_URL at an existing server.';

/**
 * Picks the Redis to use: --redis, then REDIS_URL, then the pipeline's redis.url, then a server already
 * answering on 127.0.0.1:6379, then a private redis-server on a free port (stopped with the worker).
 */
export async function resolveRedis(options: ResolveRedisOptions): Promise<RedisChoice> {
  if (options.optionUrl) return { url: options.optionUrl, origin: 'option' };
  if (options.envUrl) return { url: options.envUrl, origin: 'env' };
  if (options.pipelineUrl) return { url: options.pipelineUrl, origin: 'pipeline' };
  if (options.probeLocal && (await pingRedis('127.0.0.1', 6379, 500))) {
    return { url: 'redis://127.0.0.1:6379', origin: 'local' };
  }
  if (options.startPrivate === false) {
    throw new FortistreamError(
      'FST_REDIS_UNAVAILABLE',
      'No Redis is configured (--redis, REDIS_URL or redis.url in the pipeline) and nothing answers on 127.0.0.1:6379; ' +
        'name the Redis to write to (a private one would be gone, with what was written, when this command exits).',
    );
  }
  if (!redisServerAvailable()) throw new FortistreamError('FST_REDIS_UNAVAILABLE', NO_REDIS_HELP);
  const privateServer = await startPrivateRedis();
  options.logger?.info(
    { redis: privateServer.url, pid: privateServer.pid },
    'no Redis configured and none on 127.0.0.1:6379: started a private redis-server (stopped with the worker; data is not kept)',
  );
  return { url: privateServer.url, origin: 'private', privateServer };
}

/** An ioredis client for the worker's writes: bounded retries per command, the pipeline retries batches. */
export function createRedisClient(url: string, overrides: RedisOptions = {}): Redis {
  return new Redis(url, {
    connectionName: 'fortistream',
    maxRetriesPerRequest: 2,
    enableReadyCheck: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    ...overrides,
  });
}

/** Connects and PINGs within the timeout, or throws a FortistreamError that names the (password-free) URL. */
export async function connectRedis(url: string, timeoutMs: number, overrides: RedisOptions = {}): Promise<Redis> {
  const client = createRedisClient(url, { lazyConnect: true, ...overrides });
  let lastError: string | undefined;
  client.on('error', (error: unknown) => {
    // Connection errors are reported by the pipeline's retry loop; this keeps ioredis from printing them.
    // The last one explains a connect timeout (e.g. a TLS certificate that does not verify).
    lastError = error instanceof Error ? error.message : String(error);
  });
  try {
    await withTimeout(client.connect(), timeoutMs, () =>
      `connecting to ${safeRedisUrl(url)} timed out after ${timeoutMs} ms${lastError === undefined ? '' : ` (last error: ${redactUrls(lastError)})`}`);
    await withTimeout(client.ping(), timeoutMs, () => `PING to ${safeRedisUrl(url)} timed out`);
    return client;
  } catch (error) {
    client.disconnect();
    let why = redactUrls(error instanceof Error ? error.message : String(error));
    // "Connection is closed." says little: the socket error before it (TLS, auth) says why
    if (lastError !== undefined && !why.includes(lastError)) why += ` (${redactUrls(lastError)})`;
    // no `cause`: the error of the client library may carry the connection options (password)
    throw new FortistreamError('FST_REDIS_UNAVAILABLE', `cannot reach Redis at ${safeRedisUrl(url)}: ${why}`);
  }
}

/** Replaces the password of every redis:// or rediss:// URL in a message. */
export function redactUrls(text: string): string {
  return text.replace(/rediss?:\/\/[^\s"'<>]+/gi, (url) => safeRedisUrl(url));
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** `--redis-ca`, `--redis-cert`, `--redis-key`: each replaces the pipeline's `redis.tls` field. */
export interface RedisTlsOverrides {
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
}

/**
 * TLS material for a `rediss://` connection, read once at start. The field names are those of
 * `tls.connect`, so the same object serves ioredis (`tls`) and the sinks' raw RESP connections.
 */
export interface RedisTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly servername?: string;
  readonly rejectUnauthorized: boolean;
}

/** True for a `rediss://` URL. */
export function isTlsRedisUrl(url: string): boolean {
  return /^rediss:\/\//i.test(url);
}

/**
 * Reads the CA, client certificate and key of `redis.tls` (command-line files first) for `url`.
 * Returns undefined for a `redis://` URL without TLS settings; throws FST_CONFIG_INVALID when TLS
 * files are set for a `redis://` URL, when cert and key are not given together, or when the key file
 * is readable by others; FST_REDIS_UNAVAILABLE when a file cannot be read. Messages name the file,
 * never its content (nor the URL's password).
 */
export async function loadRedisTls(
  url: string,
  settings: RedisTlsSettings | undefined,
  overrides: RedisTlsOverrides = {},
  logger?: Logger,
): Promise<RedisTls | undefined> {
  const caFile = overrides.caFile ?? settings?.ca_file;
  const certFile = overrides.certFile ?? settings?.cert_file;
  const keyFile = overrides.keyFile ?? settings?.key_file;
  const anyFile = caFile !== undefined || certFile !== undefined || keyFile !== undefined;
  if (!isTlsRedisUrl(url)) {
    if (anyFile) {
      throw new FortistreamError(
        'FST_CONFIG_INVALID',
        `Redis TLS files are set (redis.tls or --redis-ca/--redis-cert/--redis-key) but the Redis URL ${safeRedisUrl(url)} is not rediss://: use a rediss:// URL, or remove the TLS files`,
      );
    }
    return undefined;
  }
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new FortistreamError(
      'FST_CONFIG_INVALID',
      `Redis TLS: a client certificate needs its key and the other way round (got ${certFile === undefined ? 'a key without a certificate' : 'a certificate without a key'}; redis.tls.cert_file/key_file or --redis-cert/--redis-key)`,
    );
  }
  const verify = settings?.verify ?? true;
  if (!verify) {
    logger?.warn(
      { redis: safeRedisUrl(url) },
      'redis.tls.verify is false: the Redis server certificate is NOT verified (anyone on the path can impersonate it); for tests only',
    );
  }
  const ca = caFile === undefined ? undefined : await readPem(caFile, 'CA file (redis.tls.ca_file / --redis-ca)');
  const cert = certFile === undefined ? undefined : await readPem(certFile, 'client certificate (redis.tls.cert_file / --redis-cert)');
  let key: Buffer | undefined;
  if (keyFile !== undefined) {
    const result = await readSecretFile(keyFile);
    if (!result.ok) {
      const code = result.problem.startsWith('cannot be read') ? 'FST_REDIS_UNAVAILABLE' : 'FST_CONFIG_INVALID';
      throw new FortistreamError(code, `Redis TLS key file (redis.tls.key_file / --redis-key) ${keyFile} ${result.problem.replace('<file>', keyFile)}`);
    }
    key = result.data;
  }
  return {
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(settings?.server_name !== undefined ? { servername: settings.server_name } : {}),
    rejectUnauthorized: verify,
  };
}

async function readPem(path: string, what: string): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'error';
    throw new FortistreamError('FST_REDIS_UNAVAILABLE', `Redis TLS ${what} ${path} cannot be read (${code})`);
  }
  if (!data.includes('-----BEGIN ')) {
    throw new FortistreamError('FST_CONFIG_INVALID', `Redis TLS ${what} ${path} is not a PEM file (no -----BEGIN line)`);
  }
  return data;
}

/** The ioredis options for `tls` (none for plain TCP). */
export function redisTlsOptions(tls: RedisTls | undefined): RedisOptions {
  return tls === undefined ? {} : { tls: { ...tls } };
}
