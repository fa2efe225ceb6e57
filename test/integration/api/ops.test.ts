import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiApp, type ApiApp } from '../../../src/api/app.js';
import { parseProcNetUdp } from '../../../src/api/ops.js';
import { startApiServer, type ApiServer } from '../../../src/api/server.js';
import { createTokenStore } from '../../../src/api/tokens.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { createCounterStore } from '../../../src/state/counters.js';
import { compileRules } from '../../../src/state/rules.js';
import { countersSettingsSchema, sessionsSettingsSchema } from '../../../src/state/rules-schema.js';
import { createSessionStore } from '../../../src/state/sessions.js';
import { testRedisClient, uniquePrefix } from '../../support/redis.js';

const READER = 'reader-token-0123456789abcdefghijkl';
const WRITER = 'writer-token-0123456789abcdefghijkl';
const ADMIN = 'admin-token-0123456789abcdefghijklm';

const PROC_UDP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  12: 00000000:15B3 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 111 2 0000000000000000 7
  13: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 112 2 0000000000000000 99
garbage line
`;

describe('operations API', () => {
  const redis = testRedisClient();
  const prefix = uniquePrefix('ops');
  const dir = mkdtempSync(join(tmpdir(), 'fst-ops-'));
  const procFile = join(dir, 'udp');
  const metrics = createMetrics({ defaultMetrics: false });
  const sessions = createSessionStore(redis, { prefix });
  const counterSettings = countersSettingsSchema.parse([
    { name: 'failed_per_ip', when: { 'event.code': '0100032002' }, key: ['source.ip'], window_seconds: 300, bucket_seconds: 10, threshold: 3 },
    { name: 'failed_per_user', when: { 'event.code': '0100032002' }, key: ['user.name'], window_seconds: 300, bucket_seconds: 10, threshold: 1 },
  ]);
  const rules = compileRules(
    sessionsSettingsSchema.parse({ timeout: { type: 'idle-timeout', seconds: 600 }, methods: { idp: { type: 'hard-timeout', seconds: 7200 } } }),
    counterSettings,
  );
  let buffered = 0;
  let bound: Record<string, { host: string; port: number }> = { syslog_udp: { host: '0.0.0.0', port: 0x15b3 } };
  const worker = {
    metrics,
    pipeline: {
      get buffered() {
        return buffered;
      },
    },
    addresses: () => bound,
    streams: () => ({ events: [`${prefix}events`], dead: [`${prefix}dead`] }),
  };
  let app: ApiApp;
  let server: ApiServer;
  let base: string;

  const call = async (method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown>; text: string }> => {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // metrics are text
    }
    return { status: res.status, json, text };
  };

  beforeAll(async () => {
    writeFileSync(procFile, PROC_UDP);
    const tokens = createTokenStore(
      {
        tokens: [
          { name: 'reader', token_sha256: createHash('sha256').update(READER).digest('hex'), roles: ['read'] },
          { name: 'writer', token: WRITER, roles: ['write'] },
          { name: 'admin', token: ADMIN, roles: ['read', 'write', 'admin'] },
        ],
      },
      'test',
    );
    app = createApiApp({
      redis,
      streams: {},
      tokens,
      logger: pino({ level: 'silent' }),
      ops: {
        worker,
        state: {
          sessions,
          counters: rules.counters.map((spec) => ({ spec, key: counterSettings.find((c) => c.name === spec.name)?.key ?? [] })),
          resolveTimeout: (method, groups) => rules.resolveTimeout(method, groups),
        },
        expectedListeners: 1,
        maxBufferedBytes: 1000,
        udpSources: ['syslog_udp'],
        procNetUdp: [procFile, join(dir, 'absent')],
        maxIdentityEvents: 5,
        maxBodyBytes: 4096,
      },
    });
    server = await startApiServer(app, '127.0.0.1:0');
    base = `http://127.0.0.1:${server.address().port}`;
  });

  afterAll(async () => {
    await server.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 401 without or with a bad token and 403 without the role, on every protected route', async () => {
    const routes: [string, string, 'read' | 'write'][] = [
      ['GET', '/metrics', 'read'],
      ['GET', '/v1/sessions?ip=10.0.0.1', 'read'],
      ['DELETE', '/v1/sessions?ip=10.0.0.1', 'write'],
      ['GET', '/v1/counters/failed_per_ip?key=10.0.0.1', 'read'],
      ['GET', '/v1/decision?ip=10.0.0.1', 'read'],
      ['POST', '/v1/identity/events', 'write'],
    ];
    for (const [method, path, role] of routes) {
      expect((await call(method, path)).status, `${method} ${path}`).toBe(401);
      expect((await call(method, path, 'not-a-token-not-a-token-xx')).status, `${method} ${path}`).toBe(401);
      expect((await call(method, path, role === 'read' ? WRITER : READER)).status, `${method} ${path}`).toBe(403);
    }
  });

  it('/readyz needs no token and reports redis, listeners and lag', async () => {
    const ok = await call('GET', '/readyz');
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ status: 'ready', checks: { redis: { ok: true }, listeners: { ok: true, bound: 1 }, lag: { ok: true } } });
    buffered = 5000;
    const lagging = await call('GET', '/readyz');
    expect(lagging.status).toBe(503);
    expect(lagging.json).toMatchObject({ status: 'not_ready', checks: { lag: { ok: false, buffered_bytes: 5000, limit_bytes: 1000 } } });
    buffered = 0;
    const saved = bound;
    bound = {};
    expect((await call('GET', '/readyz')).status).toBe(503);
    bound = saved;
  });

  it('/metrics serves the registry plus sessions, stream lengths and UDP kernel drops', async () => {
    await redis.xadd(`${prefix}events`, '*', 'a', '1');
    await redis.xadd(`${prefix}events`, '*', 'a', '2');
    metrics.alertsRaised.inc({ counter: 'x' });
    const res = await call('GET', '/metrics', READER);
    expect(res.status).toBe(200);
    expect(res.text).toContain('fortistream_alerts_total{counter="x"} 1');
    expect(res.text).toMatch(/^fortistream_active_sessions \d+$/m);
    expect(res.text).toContain(`fortistream_stream_length{stream="${prefix}events"} 2`);
    expect(res.text).toContain(`fortistream_stream_length{stream="${prefix}dead"} 0`);
    expect(res.text).toContain('fortistream_udp_kernel_drops_total{source="syslog_udp",port="5555"} 7');
  });

  it('parses /proc/net/udp defensively', () => {
    expect(parseProcNetUdp(PROC_UDP, new Set([5555, 53]))).toEqual(
      new Map([
        [5555, 7],
        [53, 99],
      ]),
    );
    expect(parseProcNetUdp('', new Set([53])).size).toBe(0);
    expect(parseProcNetUdp('nonsense\n1 2 3 4 5', new Set([53])).size).toBe(0);
  });

  it('opens and closes sessions from identity events, visible in /v1/sessions and /v1/decision', async () => {
    const login = await call('POST', '/v1/identity/events', WRITER, {
      events: [
        { type: 'login', user: 'alice@corp', groups: ['Finance', 'staff'], source_ip: '10.9.0.1', idp: 'okta', session_id: 'okta-1' },
        { type: 'login', user: 'bob@corp', source_ip: '10.9.0.2', ttl_seconds: 60 },
      ],
    });
    expect(login.status).toBe(200);
    expect(login.json).toMatchObject({ accepted: 2, opened: 2, closed: 0 });

    const byIp = await call('GET', '/v1/sessions?ip=10.9.0.1', READER);
    expect(byIp.status).toBe(200);
    expect(byIp.json).toMatchObject({ count: 1, sessions: [{ user: 'alice@corp', method: 'idp', device: 'idp:okta', external_id: 'okta-1', timeout_type: 'hard', timeout_seconds: 7200 }] });
    const byUser = await call('GET', '/v1/sessions?user=BOB@corp', READER);
    expect(byUser.json).toMatchObject({ count: 1, sessions: [{ ip: '10.9.0.2', timeout_seconds: 60 }] });

    const decision = await call('GET', '/v1/decision?ip=10.9.0.1', READER);
    expect(decision.status).toBe(200);
    expect(decision.json).toMatchObject({ ip: '10.9.0.1', known: true, users: ['alice@corp'], groups: ['Finance', 'staff'], methods: ['idp'], over: [] });

    const logout = await call('POST', '/v1/identity/events', ADMIN, { events: [{ type: 'logout', user: 'alice@corp', source_ip: '10.9.0.1', idp: 'okta', session_id: 'okta-1' }] });
    expect(logout.json).toMatchObject({ accepted: 1, closed: 1 });
    expect((await call('GET', '/v1/sessions?ip=10.9.0.1', READER)).json).toMatchObject({ count: 0 });
    expect((await call('GET', '/v1/decision?ip=10.9.0.1', READER)).json).toMatchObject({ known: false, users: [], expires: null });
  });

  it('rejects invalid identity batches with 400 naming the field, oversize with 413, non-JSON with 415', async () => {
    const bad = await call('POST', '/v1/identity/events', WRITER, { events: [{ type: 'login', user: 'x', source_ip: '10.0.0.1' }, { type: 'login', user: 'y', source_ip: 'not-an-ip', ttl_seconds: 0 }] });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe('invalid_events');
    const paths = (bad.json.issues as { path: string; message: string }[]).map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['events.1.source_ip', 'events.1.ttl_seconds']));
    expect((await call('GET', '/v1/sessions?ip=10.0.0.1', READER)).json).toMatchObject({ count: 0 });

    const typo = await call('POST', '/v1/identity/events', WRITER, { events: [{ type: 'signin', user: 'x', source_ip: '10.0.0.1', ttl: 5 }] });
    expect(typo.status).toBe(400);
    expect((typo.json.issues as { path: string }[]).map((i) => i.path)).toEqual(expect.arrayContaining(['events.0.type', 'events.0']));

    const tooMany = await call('POST', '/v1/identity/events', WRITER, { events: Array.from({ length: 6 }, () => ({ type: 'logout', user: 'x', source_ip: '10.0.0.1' })) });
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.issues).toEqual([expect.objectContaining({ path: 'events' })]);

    expect((await call('POST', '/v1/identity/events', WRITER, '{"events": [')).status).toBe(400);
    expect((await call('POST', '/v1/identity/events', WRITER, { events: [], pad: 'x'.repeat(5000) })).status).toBe(413);
    const text = await fetch(`${base}/v1/identity/events`, { method: 'POST', headers: { authorization: `Bearer ${WRITER}`, 'content-type': 'text/plain' }, body: 'hi' });
    expect(text.status).toBe(415);
  });

  it('revokes sessions by user with DELETE /v1/sessions (write); without devices it says why nothing was enqueued', async () => {
    const now = Date.now();
    for (const ip of ['10.7.0.1', '10.7.0.2']) {
      await sessions.open({ user: 'Carol', ip, device: 'FGT1', method: 'sslvpn', eventTimeMs: now, timeoutType: 'idle', timeoutSeconds: 600, openedBy: '0101039947' }, now);
    }
    expect((await call('DELETE', '/v1/sessions', WRITER)).status).toBe(400);
    expect((await call('DELETE', '/v1/sessions?ip=x', WRITER)).status).toBe(400);
    const res = await call('DELETE', '/v1/sessions?user=carol&reason=incident-42', WRITER);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ revoked: 2, reason: 'incident-42', actor: 'api:writer', jobs: [] });
    expect(res.json.skipped).toEqual([
      { session: expect.any(String), action: 'deauth-user', reason: 'no configured device for "FGT1"' },
      { session: expect.any(String), action: 'deauth-user', reason: 'no configured device for "FGT1"' },
    ]);
    expect((await call('DELETE', '/v1/sessions?user=carol&ban=soon', WRITER)).status).toBe(400);
    expect((await call('DELETE', '/v1/sessions?user=carol&deauth=maybe', WRITER)).status).toBe(400);
    expect((res.json.sessions as { ip: string }[]).map((s) => s.ip).sort()).toEqual(['10.7.0.1', '10.7.0.2']);
    expect((await call('GET', '/v1/sessions?user=carol', READER)).json).toMatchObject({ count: 0 });
    const audit = await redis.xrevrange(`${prefix}audit`, '+', '-', 'COUNT', 1);
    expect(audit[0]?.[1].join(' ')).toContain('api:writer');
  });

  it('reads counters (404 unknown, 400 without key) and flags source.ip counters over threshold in /v1/decision', async () => {
    const store = createCounterStore(redis, { prefix });
    const ipSpec = rules.counters.find((c) => c.name === 'failed_per_ip');
    const userSpec = rules.counters.find((c) => c.name === 'failed_per_user');
    if (!ipSpec || !userSpec) throw new Error('specs');
    const now = Date.now();
    await store.apply(
      [
        ...Array.from({ length: 4 }, () => ({ counter: ipSpec, key: '10.8.0.1', timeMs: now })),
        { counter: ipSpec, key: '10.8.0.2', timeMs: now },
        // a user-keyed counter is not read by the decision route even when its key looks like an IP
        { counter: userSpec, key: '10.8.0.2', timeMs: now },
      ],
      now,
    );
    expect((await call('GET', '/v1/counters/nope?key=a', READER)).status).toBe(404);
    expect((await call('GET', '/v1/counters/failed_per_ip', READER)).status).toBe(400);
    const reading = await call('GET', '/v1/counters/failed_per_ip?key=10.8.0.1', READER);
    expect(reading.status).toBe(200);
    expect(reading.json).toMatchObject({ counter: 'failed_per_ip', key: '10.8.0.1', value: 4, threshold: 3, over: true, key_fields: ['source.ip'] });

    expect((await call('GET', '/v1/decision?ip=10.8.0.1', READER)).json).toMatchObject({ known: false, over: [{ counter: 'failed_per_ip', value: 4, threshold: 3 }] });
    expect((await call('GET', '/v1/decision?ip=10.8.0.2', READER)).json).toMatchObject({ over: [] });
    expect((await call('GET', '/v1/decision?ip=bogus', READER)).status).toBe(400);
  });

  it('keeps /healthz open and refuses wrong methods', async () => {
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect((await call('POST', '/v1/decision?ip=10.0.0.1', READER)).status).toBe(405);
    expect((await call('PUT', '/v1/sessions?ip=10.0.0.1', WRITER)).status).toBe(405);
  });
});

describe('operations API without state or worker', () => {
  const redis = testRedisClient();
  let server: ApiServer;
  let base: string;
  beforeAll(async () => {
    const tokens = createTokenStore({ tokens: [{ name: 'reader', token: READER, roles: ['read'] }] }, 'test');
    server = await startApiServer(createApiApp({ redis, streams: {}, tokens, logger: pino({ level: 'silent' }), ops: { pingTimeoutMs: 100 } }), '127.0.0.1:0');
    base = `http://127.0.0.1:${server.address().port}`;
  });
  afterAll(async () => {
    await server.close();
    await redis.quit();
  });

  it('answers 404 not_configured for state routes and still serves readyz/metrics', async () => {
    const auth = { authorization: `Bearer ${READER}` };
    const res = await fetch(`${base}/v1/decision?ip=10.0.0.1`, { headers: auth });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'not_configured' });
    expect((await fetch(`${base}/v1/counters/x?key=1`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`, { headers: auth })).status).toBe(200);
  });
});
