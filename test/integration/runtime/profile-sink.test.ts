import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/observability/metrics.js';
import type { NormalizedEvent } from '../../../src/parse/event.js';
import type { SinkBatch } from '../../../src/runtime/contracts.js';
import { createProfileSink, type KeyringHandle } from '../../../src/runtime/profiles.js';
import { parseKeyring } from '../../../src/sanitize/keyring.js';
import { compileProfile } from '../../../src/sanitize/profiles.js';
import { testRedisClient, testRedisUrl, uniquePrefix } from '../../support/redis.js';

const logger = pino({ level: 'silent' });

function keyringHandle(kid: string): KeyringHandle {
  const keyring = parseKeyring(JSON.stringify({ current: kid, keys: [{ id: kid, secret_base64: randomBytes(32).toString('base64') }] }), 'test');
  return { origin: 'test', current: () => keyring, reload: async () => undefined, close: () => undefined };
}

function event(index: number): NormalizedEvent {
  return {
    fields: ['@timestamp', '2026-12-04T10:00:00.000Z', 'event.action', 'deny', 'user.name', `alice${index}`, 'source.ip', `10.1.2.${index}`, 'message', `hello alice${index}`],
    timeMs: Date.UTC(2026, 11, 4, 10),
  };
}

describe('profile sink (projection + Redis Streams sink with explicit ids)', () => {
  const redis = testRedisClient();
  afterAll(async () => {
    await redis.quit();
  });

  it('projects every event and does not duplicate a retried batch', async () => {
    const prefix = uniquePrefix('prof');
    const profile = compileProfile('agent', { type: 'agent', keyring: 'unused', stream: `${prefix}events:agent` });
    const sink = createProfileSink({ profile, keyring: keyringHandle('k1'), redis, redisUrl: testRedisUrl(), metrics: createMetrics({ defaultMetrics: false }), logger, batchMaxEvents: 1000 });
    const batch: SinkBatch = { events: [event(1), event(2), event(3)], dead: [] };
    await sink.write(batch);
    // the runtime retries with the same batch object (e.g. the reply was lost, or another sink failed)
    await sink.write(batch);
    await sink.write(batch);
    expect(await redis.xlen(profile.stream)).toBe(3);
    await sink.write({ events: [event(4)], dead: [] });
    const entries = await redis.xrange(profile.stream, '-', '+');
    expect(entries).toHaveLength(4);
    const text = entries.flatMap(([, fields]) => fields).join('\n');
    expect(text).not.toContain('alice');
    expect(text).not.toContain('10.1.2.');
    expect(text).toContain('user.pseudonym');
    await sink.close();
  });

  it('writes no dead letters (the sinks section owns them)', async () => {
    const prefix = uniquePrefix('prof');
    const profile = compileProfile('soc2', { type: 'soc', stream: `${prefix}events:soc2` });
    const sink = createProfileSink({ profile, keyring: undefined, redis, redisUrl: testRedisUrl(), metrics: createMetrics({ defaultMetrics: false }), logger, batchMaxEvents: 1000 });
    await sink.write({
      events: [event(1)],
      dead: [{ code: 'no_fields', reason: 'x', stage: 'parse', source: 's', peer: 'p', receivedAtMs: 0, raw: Buffer.from('x') }],
    });
    const entries = await redis.xrange(profile.stream, '-', '+');
    expect(entries).toHaveLength(1);
    expect(entries[0]?.[1]).toContain('alice1');
    await sink.close();
  });
});
