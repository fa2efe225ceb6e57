/** The worker's derived ACL user can run every feed path: lists, group reads, the route's source, the pusher. */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePipelineText } from '../../../src/config/load.js';
import { addToList, removeFromList } from '../../../src/feeds/address-lists.js';
import { startFeedPusher, type FeedPushJob } from '../../../src/feeds/push.js';
import { defineFeed } from '../../../src/feeds/settings.js';
import { createFeedSource } from '../../../src/feeds/source.js';
import { startPrivateRedis, type PrivateRedis } from '../../../src/runtime/redis-server.js';
import { deriveAclRules } from '../../../src/security/acl.js';
import { DEFAULT_SESSIONS_YAML } from '../../../src/state/rules-defaults.js';
import { createSessionStore } from '../../../src/state/sessions.js';
import { waitFor } from '../../support/fortigate-lines.js';

const PREFIX = 'fst-feeds-acl:';
const PIPELINE = `
redis: { key_prefix: "${PREFIX}" }
sources:
  udp_in: { type: syslog, mode: udp, address: "127.0.0.1:0" }
sinks:
  soc: { type: redis_streams }
${DEFAULT_SESSIONS_YAML}
devices:
  fgt: { base_url: "https://127.0.0.1:1", token_env: FGT_TOKEN }
feeds:
  finance: { type: group, group: Finance, push: { device: fgt, connector: fin } }
  blocked: { type: list, list: blocked, push: { device: fgt, connector: blk } }
`;

describe('feeds under the derived worker ACL user', () => {
  let server: PrivateRedis;
  let admin: Redis;
  let worker: Redis;

  beforeAll(async () => {
    server = await startPrivateRedis();
    admin = new Redis(server.url);
    const password = randomBytes(24).toString('hex');
    const rules = deriveAclRules(parsePipelineText(PIPELINE, 'p.yaml', { env: {} }), { passwords: { worker: { plain: password } } });
    expect(rules.commands.worker).toEqual(expect.arrayContaining(['multi', 'exec', 'zadd', 'zrem', 'zmscore', 'zremrangebyscore', 'xread']));
    await admin.call('ACL', 'SETUSER', rules.users.worker, ...rules.worker.split(' '));
    await admin.call('ACL', 'LOG', 'RESET');
    worker = new Redis(`redis://${rules.users.worker}:${password}@127.0.0.1:${server.port}`, { maxRetriesPerRequest: 1 });
  });

  afterAll(async () => {
    await worker?.quit().catch(() => undefined);
    await admin?.quit().catch(() => undefined);
    await server?.stop();
  });

  it('runs lists, group feeds and the pusher without an ACL refusal', async () => {
    const pipeline = parsePipelineText(PIPELINE, 'p.yaml', { env: {} });
    const feeds = Object.entries(pipeline.feeds ?? {}).map(([name, s]) => defineFeed(name, s));
    const store = createSessionStore(worker, { prefix: PREFIX });
    const keys = store.layout;
    const now = Date.now();
    const jobs: FeedPushJob[] = [];
    const pusher = await startFeedPusher({
      redis: worker,
      keys,
      feeds,
      enqueue: async (job) => {
        jobs.push(job);
      },
      logger: pino({ level: 'silent' }),
      blockMs: 200,
    });
    try {
      await store.open({ user: 'alice', groups: ['Finance'], ip: '10.5.0.1', device: 'FGT1', method: 'firewall', eventTimeMs: now, timeoutType: 'idle', timeoutSeconds: 600, openedBy: 'x' }, now);
      await addToList(worker, keys, 'blocked', '203.0.113.1', now + 60_000);
      await removeFromList(worker, keys, 'blocked', '203.0.113.1');
      await addToList(worker, keys, 'blocked', '203.0.113.2', null);
      const source = createFeedSource({ redis: worker, keys, feeds, logger: pino({ level: 'silent' }), cacheMs: 0 });
      expect((await source.get('finance'))?.addresses).toEqual(['10.5.0.1']);
      expect((await source.get('blocked'))?.addresses).toEqual(['203.0.113.2']);
      await waitFor(() => jobs, (found) => found.some((j) => j.connector === 'blk' && j.entries.includes('203.0.113.2')));
      // .1 added and removed may land in one batch (nothing to push) or two (add, then remove)
      const pushed = jobs.filter((j) => j.command !== 'snapshot').map((j) => `${j.connector} ${j.command} ${j.entries.join(',')}`);
      expect(pushed).toContain('fin add 10.5.0.1');
      expect(pushed.at(-1)).toBe('blk add 203.0.113.2');
    } finally {
      await pusher.close();
    }
    expect(await admin.call('ACL', 'LOG')).toEqual([]);
  });

  it('serves group feeds from full reads under a worker user derived before the group index (no XINFO)', async () => {
    const pipeline = parsePipelineText(PIPELINE, 'p.yaml', { env: {} });
    const feeds = Object.entries(pipeline.feeds ?? {}).map(([name, s]) => defineFeed(name, s));
    const password = randomBytes(24).toString('hex');
    const rules = deriveAclRules(pipeline, { users: { worker: 'fortistream-worker-old' }, passwords: { worker: { plain: password } } });
    await admin.call('ACL', 'SETUSER', rules.users.worker, ...rules.worker.split(' '), '-xinfo');
    const old = new Redis(`redis://${rules.users.worker}:${password}@127.0.0.1:${server.port}`, { maxRetriesPerRequest: 1 });
    try {
      const store = createSessionStore(worker, { prefix: PREFIX });
      const now = Date.now();
      await store.open({ user: 'olga', groups: ['finance'], ip: '10.5.0.9', device: 'FGT1', method: 'firewall', eventTimeMs: now, timeoutType: 'idle', timeoutSeconds: 600, openedBy: 'y' }, now);
      const source = createFeedSource({ redis: old, keys: store.layout, feeds, logger: pino({ level: 'silent' }), cacheMs: 0 });
      expect(source.indexStats()).toMatchObject({ loads: 0 });
      expect((await source.get('finance'))?.addresses).toContain('10.5.0.9');
      expect(source.indexStats()).toBeUndefined();
      await store.close({ by: 'ip', ip: '10.5.0.9' }, now, 'logout');
      expect((await source.get('finance'))?.addresses).not.toContain('10.5.0.9');
    } finally {
      await old.quit().catch(() => undefined);
    }
  });
});
