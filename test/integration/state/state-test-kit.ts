/** Shared by the state script tests: the two backends, invariant checks, audit reading. */
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, expect } from 'vitest';
import type { StateKeys } from '../../../src/state/keys.js';
import type { StateRedis } from '../../../src/state/script-loader.js';
import { storedSessionToFlat, type SessionOpenInput } from '../../../src/state/session-model.js';
import { startLocalRedisCluster, type LocalRedisCluster } from '../../support/redis-cluster.js';
import { testRedisClient } from '../../support/redis.js';

export const BACKENDS = ['single', 'cluster'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** 2026-01-01T12:00:00Z: tests drive time from here. */
export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

/** Starts one local cluster for the whole file (call at the top level of the file). */
export function useLocalCluster(): () => LocalRedisCluster {
  let cluster: LocalRedisCluster | undefined;
  beforeAll(async () => {
    cluster = await startLocalRedisCluster();
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  return () => {
    if (!cluster) throw new Error('cluster not started');
    return cluster;
  };
}

/** A client on the named backend for one describe block. */
export function useBackendClient(name: BackendName, cluster: () => LocalRedisCluster): () => StateRedis {
  let client: StateRedis | undefined;
  beforeAll(() => {
    client = name === 'single' ? testRedisClient() : cluster().client();
  });
  afterAll(async () => {
    await client?.quit();
  });
  return () => {
    if (!client) throw new Error('client not created');
    return client;
  };
}

/** Every key matching `pattern`, on every master of a cluster. */
export async function scanAll(redis: StateRedis, pattern: string): Promise<string[]> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const found: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0');
  }
  return found;
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * The invariant the scripts promise: every index entry names an existing session, and every
 * session is in exactly the indices its fields call for. Returns the live session ids.
 */
export async function expectIndicesConsistent(redis: StateRedis, layout: StateKeys): Promise<string[]> {
  const base = globEscape(layout.sessionBase);
  const sessionKeys = await scanAll(redis, `${base}session:*`);
  const ids = sessionKeys.map((k) => k.slice(layout.session('').length)).sort();
  const expected = new Map<string, Set<string>>();
  const expectMember = (key: string, id: string): void => {
    const set = expected.get(key) ?? new Set<string>();
    set.add(id);
    expected.set(key, set);
  };
  const expectedExt = new Map<string, Map<string, string>>();
  const expectedAddr = new Map<string, Map<string, string>>();
  const expiryScores = new Map<string, number>();
  for (const id of ids) {
    const flat = storedSessionToFlat(id, await redis.hgetall(layout.session(id)));
    const h: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i] as string] = flat[i + 1] as string;
    expect(Object.keys(h).length).toBeGreaterThan(0);
    if (h.ip) expectMember(`ip ${h.ip}`, id);
    if (h.tunnel_ip) expectMember(`ip ${h.tunnel_ip}`, id);
    if (h.user) expectMember(`user ${layout.userIndexField(h.user)}`, id);
    if (h.device) expectMember(`device ${layout.deviceIndex(h.device)}`, id);
    if (h.external_id && h.device && h.method) {
      const fields = expectedExt.get(layout.externalIdIndex(h.device)) ?? new Map<string, string>();
      fields.set(layout.externalIdField(h.method, h.external_id), id);
      expectedExt.set(layout.externalIdIndex(h.device), fields);
    }
    const keyAddress = h.tunnel_ip || h.ip;
    if (!h.external_id && keyAddress) {
      const key = layout.addressIndex(h.device ?? '');
      const fields = expectedAddr.get(key) ?? new Map<string, string>();
      fields.set(layout.addressIndexField(h.method ?? '', keyAddress), id);
      expectedAddr.set(key, fields);
    }
    expiryScores.set(id, Number(h.expires_ms));
    // The safety TTL is set on every session hash.
    expect(await redis.pttl(layout.session(id))).toBeGreaterThan(0);
  }
  const actualSets = new Map<string, Set<string>>();
  for (const [kind, key] of [['ip', layout.ipIndex], ['user', layout.userIndex]] as const) {
    for (const [field, ids] of Object.entries(await redis.hgetall(key))) {
      const list = ids.split(' ');
      expect(new Set(list).size).toBe(list.length); // no id listed twice
      actualSets.set(`${kind} ${field}`, new Set(list));
    }
  }
  for (const key of await scanAll(redis, `${base}device:*`)) actualSets.set(`device ${key}`, new Set(await redis.hkeys(key)));
  expect(actualSets).toEqual(expected);
  const actualExt = new Map<string, Map<string, string>>();
  for (const key of await scanAll(redis, `${base}ext:*`)) actualExt.set(key, new Map(Object.entries(await redis.hgetall(key))));
  expect(actualExt).toEqual(expectedExt);
  const actualAddr = new Map<string, Map<string, string>>();
  for (const key of await scanAll(redis, `${base}addr:*`)) actualAddr.set(key, new Map(Object.entries(await redis.hgetall(key))));
  expect(actualAddr).toEqual(expectedAddr);
  const zset = await redis.zrange(layout.expiry, 0, -1, 'WITHSCORES');
  const actualScores = new Map<string, number>();
  for (let i = 0; i + 1 < zset.length; i += 2) actualScores.set(zset[i] as string, Number(zset[i + 1]));
  expect(actualScores).toEqual(expiryScores);
  return ids;
}

export type AuditEntry = Record<string, string>;

export async function readAudit(redis: StateRedis, layout: StateKeys): Promise<AuditEntry[]> {
  const entries = await redis.xrange(layout.auditStream, '-', '+');
  return entries.map(([, fields]) => {
    const entry: AuditEntry = {};
    for (let i = 0; i + 1 < fields.length; i += 2) entry[fields[i] as string] = fields[i + 1] as string;
    return entry;
  });
}

/** A firewall-auth login from 10.1.2.3 on FGT-A, idle timeout of 300 s, at T0. */
export function login(overrides: Partial<SessionOpenInput> = {}): SessionOpenInput {
  return {
    user: 'alice',
    groups: ['staff', 'vpn-users'],
    ip: '10.1.2.3',
    device: 'FGT60E0000000001',
    vdom: 'root',
    method: 'firewall',
    eventTimeMs: T0,
    timeoutType: 'idle',
    timeoutSeconds: 300,
    openedBy: '0102043008',
    ...overrides,
  };
}
