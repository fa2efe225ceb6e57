import type { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { parseFrame, type NormalizedEvent } from '../../src/parse/index.js';
import { countersSettingsSchema } from '../../src/state/rules-schema.js';
import { compileRules } from '../../src/state/rules.js';
import { createStateStage, type StateStage, type StateStageOptions } from '../../src/state/stage.js';
import { failedVpnLoginLine } from './fortigate-lines.js';
import { testRedisClient, uniquePrefix } from './redis.js';

/** A test Redis client for the describe block (opened before its tests, closed after). */
export function useTestRedis(): () => Redis {
  let redis: Redis | undefined;
  beforeAll(() => {
    redis = testRedisClient();
  });
  afterAll(async () => {
    await redis?.quit();
  });
  return () => {
    if (redis === undefined) throw new Error('useTestRedis: the client exists only inside the tests');
    return redis;
  };
}

/** A failed SSL-VPN login from `ip`, logged by `device`, parsed as the worker would. */
export function failedVpnLogin(atMs: number, ip: string, device?: { name: string; serial: string }): NormalizedEvent {
  const result = parseFrame(failedVpnLoginLine(atMs, ip, device), { source: 't', peer: '127.0.0.1:1', receivedAtMs: atMs });
  if (!result.ok) throw new Error(result.reason);
  return result.event;
}

/**
 * A state stage with only `counters` (pipeline-file syntax), under a fresh key prefix, its alerts on
 * `<prefix>alerts`; `extra` sets the rest (writer, onActionAlerts…).
 */
export function testStateStage(
  redis: Redis,
  counters: unknown,
  extra: Partial<Pick<StateStageOptions, 'writer' | 'onActionAlerts' | 'alertProjections' | 'counterKeyFields'>> = {},
): { stage: StateStage; prefix: string; alertsStream: string; metrics: Metrics } {
  const prefix = uniquePrefix('stage');
  const metrics = createMetrics({ defaultMetrics: false });
  const alertsStream = `${prefix}alerts`;
  const stage = createStateStage({
    redis,
    rules: compileRules(undefined, countersSettingsSchema.parse(counters)),
    prefix,
    auditStream: `${prefix}audit`,
    auditMaxLen: 1000,
    auditRefresh: false,
    alertsStream,
    alertsMaxLen: 1000,
    metrics: metrics.component('state', 'redis'),
    counters: metrics,
    logger: pino({ level: 'silent' }),
    ...extra,
  });
  return { stage, prefix, alertsStream, metrics };
}
