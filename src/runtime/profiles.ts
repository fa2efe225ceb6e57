/**
 * The profiles of a pipeline as sinks: each profile projects every event of a batch
 * (`projectEvent`) and writes the projection to its own stream through the Redis Streams sink.
 *
 * - Dead letters are never written here: the `sinks:` section owns them (written once per batch).
 * - Keyrings are loaded once per source (several profiles may share a file), watched for changes and
 *   re-read on `reloadKeyrings()` (SIGHUP); a bad new file keeps the keyring in force and is logged.
 * - Each profile has its own pseudonym cache.
 * - With a Redis URL the profile streams get explicit entry ids (those of the events' frames, see
 *   runtime/sequence.ts), so a batch retried after a lost reply or replayed from the spool is skipped
 *   by Redis instead of duplicated (one writer per profile stream).
 */

import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { FortistreamError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { NormalizedEvent } from '../parse/event.js';
import { DEFAULT_PROFILE_MAX_LEN, DEFAULT_PROFILE_STREAM_SUFFIX, type PipelineFile } from '../config/pipeline.js';
import { KeyringError, loadKeyring, watchKeyring, type KeyringSource, type KeyringWatcher } from '../sanitize/keyring.js';
import { compileProfile, projectAlert, projectEvent, type CompiledProfile } from '../sanitize/profiles.js';
import { createPseudonymizer, type Keyring } from '../sanitize/pseudonymize.js';
import { createRedisStreamsSink } from '../sinks/redis-streams.js';
import type { RespTlsOptions } from '../sinks/resp/connection.js';
import type { AlertProjection } from '../state/stage.js';
import type { Sink, SinkBatch } from './contracts.js';

/** Where a keyring came from, as logs and errors name it (never its content). */
export function keyringOrigin(source: KeyringSource): string {
  return 'file' in source ? source.file : `env:${source.env}`;
}

/** The live keyring of one source: a file (watched) or an environment variable (read once). */
export interface KeyringHandle {
  readonly origin: string;
  current(): Keyring;
  /** Re-reads a file keyring; no-op for env. */
  reload(): Promise<void>;
  close(): void;
}

/**
 * Opens every keyring the profiles name (one handle per distinct source). Throws FortistreamError
 * `FST_KEYRING_INVALID` naming the file (never a secret) when one cannot be loaded.
 */
export async function openKeyrings(
  profiles: Readonly<PipelineFile['profiles']>,
  logger: Logger,
  options: { readonly watch?: boolean; readonly debounceMs?: number; readonly env?: NodeJS.ProcessEnv } = {},
): Promise<Map<string, KeyringHandle>> {
  const handles = new Map<string, KeyringHandle>();
  try {
    for (const [name, settings] of Object.entries(profiles)) {
      if (settings.keyring === undefined) continue;
      const source: KeyringSource = settings.keyring;
      const origin = keyringOrigin(source);
      if (handles.has(origin)) continue;
      const log = logger.child({ keyring: origin });
      try {
        if ('file' in source && options.watch !== false) {
          const watcher: KeyringWatcher = await watchKeyring(
            source.file,
            (keyring) => log.info({ current_kid: keyring.current, kids: [...keyring.keys.keys()] }, 'keyring reloaded'),
            (error) => log.warn({ err: error.message, code: error.code }, 'keyring not reloaded; keeping the keys in force'),
            options.debounceMs === undefined ? {} : { debounceMs: options.debounceMs },
          );
          handles.set(origin, {
            origin,
            current: () => watcher.current(),
            reload: async () => {
              await watcher.reload();
            },
            close: () => watcher.close(),
          });
        } else {
          const keyring = await loadKeyring(source, options.env);
          handles.set(origin, { origin, current: () => keyring, reload: async () => undefined, close: () => undefined });
        }
      } catch (error) {
        const why = error instanceof KeyringError ? error.message : `${origin}: cannot be loaded`;
        throw new FortistreamError('FST_KEYRING_INVALID', `profile "${name}": keyring ${why}`, { cause: error });
      }
    }
  } catch (error) {
    for (const handle of handles.values()) handle.close();
    throw error;
  }
  return handles;
}

/** Compiles the profiles of a pipeline with their full stream names (prefix + stream). */
export function compileProfiles(pipeline: Readonly<PipelineFile>): CompiledProfile[] {
  const prefix = pipeline.redis.key_prefix;
  return Object.entries(pipeline.profiles).map(([name, settings]) =>
    compileProfile(name, { ...settings, stream: prefix + (settings.stream ?? DEFAULT_PROFILE_STREAM_SUFFIX[settings.type]) }),
  );
}

export interface ProfileSinkOptions {
  readonly profile: CompiledProfile;
  /** The profile's keyring (`undefined` for `soc`). */
  readonly keyring: KeyringHandle | undefined;
  readonly redis: Redis;
  readonly redisUrl?: string | undefined;
  /** TLS for a `rediss://` redisUrl. */
  readonly redisTls?: RespTlsOptions | undefined;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly batchMaxEvents: number;
  /** Pseudonyms cached per profile (entries). */
  readonly cacheSize?: number;
}

/** The sequence fields of a batch, when the pipeline set them. */
function sequencesOf(batch: SinkBatch): Pick<SinkBatch, 'eventSeqs' | 'firstSeq' | 'lastSeq'> {
  if (batch.eventSeqs === undefined || batch.firstSeq === undefined || batch.lastSeq === undefined) return {};
  return { eventSeqs: batch.eventSeqs, firstSeq: batch.firstSeq, lastSeq: batch.lastSeq };
}

/** A profile as a sink: projection, then the Redis Streams sink with no dead letters. */
export function createProfileSink(options: ProfileSinkOptions): Sink {
  const { profile, keyring } = options;
  const pseudonymizer = createPseudonymizer(options.cacheSize === undefined ? {} : { cacheSize: options.cacheSize });
  const stream = createRedisStreamsSink({
    name: profile.name,
    redis: options.redis,
    ...(options.redisUrl !== undefined ? { url: options.redisUrl, explicitIds: true } : {}),
    ...(options.redisTls !== undefined ? { tls: options.redisTls } : {}),
    settings: {
      type: 'redis_streams',
      stream: profile.stream,
      max_len: profile.maxLen ?? DEFAULT_PROFILE_MAX_LEN,
      // never used: a profile batch carries no dead letters
      dead_letter_stream: profile.stream,
      dead_letter_max_len: 1,
      max_raw_bytes: 0,
      batch_max_events: options.batchMaxEvents,
    },
    metrics: options.metrics.component(profile.name, `profile_${profile.type}`),
    logger: options.logger,
    redisLatency: options.metrics.redisLatency,
  });
  // The runtime retries a batch with the same object: the same projection keeps its explicit ids.
  const projected = new WeakMap<SinkBatch, SinkBatch>();

  const project = (batch: SinkBatch): SinkBatch => {
    const ring = keyring?.current();
    const context = { keyring: ring, pseudonymizer };
    const events: NormalizedEvent[] = new Array<NormalizedEvent>(batch.events.length);
    for (let i = 0; i < batch.events.length; i += 1) {
      const event = batch.events[i] as NormalizedEvent;
      events[i] = { fields: projectEvent(event, profile, context), timeMs: event.timeMs };
    }
    // The sequences go along: the profile stream's entry ids are those of the events' frames.
    return { ...sequencesOf(batch), events, dead: [] };
  };

  return {
    name: profile.name,
    async write(batch: SinkBatch): Promise<void> {
      if (batch.events.length === 0) return;
      let out = projected.get(batch);
      if (out === undefined) {
        out = project(batch);
        projected.set(batch, out);
      }
      await stream.write(out);
    },
    close: () => stream.close(),
  };
}

/**
 * The alert projection of a profile with `alerts: true` (state/stage.ts writes through it): alerts
 * pseudonymized under the profile's current key, on `<stream>:alerts`, capped like the stream.
 */
export function createAlertProjection(profile: CompiledProfile, keyring: KeyringHandle | undefined): AlertProjection | undefined {
  if (profile.alertsStream === undefined) return undefined;
  const pseudonymizer = createPseudonymizer();
  return {
    profile: profile.name,
    stream: profile.alertsStream,
    maxLen: profile.maxLen ?? DEFAULT_PROFILE_MAX_LEN,
    project: (alert, keyFields, nowMs) => projectAlert(alert, keyFields, profile, { keyring: keyring?.current(), pseudonymizer }, nowMs),
  };
}
