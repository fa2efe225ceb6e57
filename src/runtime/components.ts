/**
 * Builders for the parts of a worker (stream sinks, profile sinks, the state stage's settings, sources),
 * shared by the first assembly (`createWorker`) and pipeline reloads, so a part built on reload is the
 * same as one built at start.
 */

import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { PipelineFile, SinkSettings, SourceSettings } from '../config/pipeline.js';
import { FortistreamError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { CompiledProfile } from '../sanitize/profiles.js';
import { createRedisStreamsSink } from '../sinks/redis-streams.js';
import { createSyslogSource } from '../sources/syslog/index.js';
import { compileRules } from '../state/rules.js';
import { createDeviceResolver } from '../actions/device-resolver.js';
import type { ActionableAlert, StateStageConfig } from '../state/stage.js';
import type { DeadLetter, Frame, Sink, Source, SourceContext } from './contracts.js';
import type { EventPipeline } from './pipeline.js';
import { createProfileSink, keyringOrigin, type KeyringHandle } from './profiles.js';
import type { RedisTls } from './redis.js';

/** What every part is built with; fixed for the life of the worker. */
export interface ComponentEnv {
  readonly redis: Redis;
  readonly redisUrl?: string | undefined;
  readonly redisTls?: RedisTls | undefined;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Name under which the state stage records its applied sequences (replays are skipped). */
  readonly stateWriter?: string;
  /** Alerts of counters with an action (see state/stage.ts). */
  readonly onActionAlerts?: (alerts: readonly ActionableAlert[]) => void;
}

/** Where sources hand frames: the pipeline itself, or the spool's intake in front of it. */
export interface FrameIntake {
  readonly accept: (frame: Frame) => void;
  readonly acceptOrDrop: (frame: Frame) => void;
  readonly acceptDead: (letter: DeadLetter) => void;
}

/** A `sinks:` entry as a Redis Streams sink (stream names get the key prefix). */
export function buildStreamSink(env: ComponentEnv, prefix: string, name: string, settings: SinkSettings): Sink {
  return createRedisStreamsSink({
    name,
    redis: env.redis,
    // Explicit ids (the frames' sequences): a retried or replayed batch is not duplicated.
    ...(env.redisUrl !== undefined ? { url: env.redisUrl, explicitIds: true } : {}),
    ...(env.redisTls !== undefined ? { tls: env.redisTls } : {}),
    settings: {
      ...settings,
      stream: prefix + settings.stream,
      dead_letter_stream: prefix + settings.dead_letter_stream,
    },
    metrics: env.metrics.component(name, settings.type),
    logger: env.logger.child({ component: name }),
    redisLatency: env.metrics.redisLatency,
  });
}

/** A compiled profile as a sink; its keyring must be open (`openKeyrings`). */
export function buildProfileSink(
  env: ComponentEnv,
  profile: CompiledProfile,
  keyrings: ReadonlyMap<string, KeyringHandle>,
  batchMaxEvents: number,
): Sink {
  const keyring = profile.keyring === undefined ? undefined : keyrings.get(keyringOrigin(profile.keyring));
  if (profile.type !== 'soc' && keyring === undefined) {
    throw new FortistreamError('FST_KEYRING_INVALID', `profile "${profile.name}": its keyring was not opened (call openKeyrings first)`);
  }
  return createProfileSink({
    profile,
    keyring,
    redis: env.redis,
    redisUrl: env.redisUrl,
    redisTls: env.redisTls,
    metrics: env.metrics,
    logger: env.logger.child({ component: profile.name }),
    batchMaxEvents,
  });
}

/** True when the pipeline needs the state stage (sessions or counters declared). */
export function hasState(pipeline: Readonly<PipelineFile>): boolean {
  return pipeline.sessions !== undefined || pipeline.counters !== undefined;
}

/** The reloadable settings of the state stage. */
export function stateConfigOf(pipeline: Readonly<PipelineFile>): StateStageConfig {
  const prefix = pipeline.redis.key_prefix;
  return {
    // Our own REST calls come back as rest-api logs from these users: they must not trigger actions.
    rules: compileRules(pipeline.sessions, pipeline.counters, { feedbackUsers: createDeviceResolver(pipeline.devices).apiUsers() }),
    auditRefresh: pipeline.sessions?.audit_refresh ?? false,
    alertsStream: prefix + pipeline.alerts.stream,
    alertsMaxLen: pipeline.alerts.max_len,
    counterKeyFields: new Map((pipeline.counters ?? []).map((counter) => [counter.name, counter.key] as const)),
  };
}

/** A syslog source feeding `eventPipeline` (UDP frames may be dropped when the buffer is full; TCP/TLS pause). */
export function buildSource(env: ComponentEnv, intake: FrameIntake | EventPipeline, name: string, settings: SourceSettings): Source {
  const context: SourceContext = {
    emit: settings.mode === 'udp' ? intake.acceptOrDrop : intake.accept,
    dead: intake.acceptDead,
    logger: env.logger.child({ component: name }),
    metrics: env.metrics.component(name, `syslog_${settings.mode}`),
  };
  return createSyslogSource(name, settings, context);
}
