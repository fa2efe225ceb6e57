import { copyFileSync, chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiApp, type ApiApp } from '../../../src/api/app.js';
import { startApiServer, type ApiServer } from '../../../src/api/server.js';
import { createTokenStore } from '../../../src/api/tokens.js';
import { addToList, removeFromList } from '../../../src/feeds/address-lists.js';
import { feedsSettingsSchema, loadFeeds } from '../../../src/feeds/settings.js';
import type { SessionOpenInput } from '../../../src/state/session-model.js';
import { createSessionStore } from '../../../src/state/sessions.js';
import { testRedisClient, uniquePrefix } from '../../support/redis.js';

const READER = 'reader-token-0123456789abcdefghijkl';
const WRITER = 'writer-token-0123456789abcdefghijkl';
const FEED_TOKEN = 'feed-token-0123456789abcdefghijklmn';
const PASSWORD = 'fortigate pass: with colon';
const fixture = (file: string): string => fileURLToPath(new URL(`../../fixtures/tls/${file}`, import.meta.url));

interface Reply {
  status: number;
  headers: Headers;
  text: string;
}

describe('GET /v1/feeds/NAME.txt', () => {
  const redis = testRedisClient();
  const prefix = uniquePrefix('feeds');
  const store = createSessionStore(redis, { prefix });
  const keys = store.layout;
  const dir = mkdtempSync(join(tmpdir(), 'fst-feeds-api-'));
  const registry = new Registry();
  let app: ApiApp;
  let server: ApiServer;
  let base: string;

  const get = async (path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> => {
    const res = await fetch(`${base}${path}`, { method, headers });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
  const basic = (user: string, password: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
  const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
  const asFortiGate = basic('fgt', PASSWORD);

  let seq = 0;
  const login = (overrides: Partial<SessionOpenInput>): Promise<unknown> => {
    const now = Date.now();
    seq += 1;
    return store.open(
      { user: `user${seq}`, groups: ['Finance'], ip: '10.1.0.1', device: 'FGT1', method: 'firewall', eventTimeMs: now, timeoutType: 'idle', timeoutSeconds: 3600, openedBy: `login-${seq}`, ...overrides },
      now,
    );
  };

  beforeAll(async () => {
    const secret = (name: string, content: string): string => {
      const path = join(dir, name);
      writeFileSync(path, `${content}\n`, { mode: 0o600 });
      return path;
    };
    const feeds = await loadFeeds(
      feedsSettingsSchema.parse({
        finance: { type: 'group', group: 'finance', auth: { basic: { username: 'fgt', password_file: secret('pw', PASSWORD) } } },
        blocked: { type: 'list', list: 'blocked', auth: { token_file: secret('token', FEED_TOKEN) } },
        revoked: { type: 'list', list: 'revoked' },
        small: { type: 'list', list: 'small', max_bytes: 64, auth: { token_file: secret('token2', FEED_TOKEN) } },
      }),
    );
    const tokens = createTokenStore(
      {
        tokens: [
          { name: 'reader', token: READER, roles: ['read'] },
          { name: 'writer', token: WRITER, roles: ['write'] },
        ],
      },
      'test',
    );
    // cacheMs 0: every request sees Redis as it is (the cache itself is tested in address-lists.test.ts)
    app = createApiApp({ redis, streams: {}, tokens, logger: pino({ level: 'silent' }), feeds: { keys, feeds, registry, cacheMs: 0 } });
    server = await startApiServer(app, '127.0.0.1:0');
    base = `http://127.0.0.1:${server.address().port}`;
  });

  afterAll(async () => {
    await server.close();
    const found = await redis.keys(`${prefix}*`);
    if (found.length > 0) await redis.del(...found);
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  it('follows logins, logouts, expiry and revocation for a group feed (source and tunnel IPs, any case)', async () => {
    const feed = async (): Promise<string> => {
      const res = await get('/v1/feeds/finance.txt', asFortiGate);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      return res.text;
    };
    expect(await feed()).toBe('');
    await login({ user: 'alice', ip: '10.1.0.1', groups: ['Finance', 'staff'] });
    await login({ user: 'bob', ip: '198.51.100.2', tunnelIp: '10.212.0.2', method: 'sslvpn', groups: ['FINANCE'] });
    await login({ user: 'carol', ip: '10.1.0.3', groups: ['staff'] });
    await login({ user: 'dave', ip: '10.1.0.4', groups: ['finance'], timeoutSeconds: 60 });
    expect(await feed()).toBe('10.1.0.1\n10.1.0.4\n10.212.0.2\n198.51.100.2\n');

    await store.close({ by: 'ip', ip: '10.1.0.1' }, Date.now(), 'logout');
    expect(await feed()).toBe('10.1.0.4\n10.212.0.2\n198.51.100.2\n');

    const swept = await store.sweep(Date.now() + 120_000);
    expect(swept.expired.map((s) => s.user)).toEqual(['dave']);
    expect(await feed()).toBe('10.212.0.2\n198.51.100.2\n');

    await store.revoke({ by: 'user', user: 'BOB' }, Date.now(), 'test', 'test');
    expect(await feed()).toBe('');
  });

  it('serves list feeds without expired entries', async () => {
    const now = Date.now();
    await addToList(redis, keys, 'revoked', '10.2.0.1', null);
    await addToList(redis, keys, 'revoked', '10.2.0.2', now + 3_600_000);
    await addToList(redis, keys, 'revoked', '10.2.0.3', now - 1);
    await addToList(redis, keys, 'revoked', '2001:db8::7', now + 3_600_000);
    const res = await get('/v1/feeds/revoked.txt', bearer(READER));
    expect(res.status).toBe(200);
    expect(res.text).toBe('10.2.0.1\n10.2.0.2\n2001:db8::7\n');
    await removeFromList(redis, keys, 'revoked', '10.2.0.1');
    expect((await get('/v1/feeds/revoked.txt', bearer(READER))).text).toBe('10.2.0.2\n2001:db8::7\n');
  });

  it('answers If-None-Match with 304 until the list changes; HEAD has the headers only', async () => {
    const path = `/v1/feeds/blocked.txt?token=${FEED_TOKEN}`;
    await addToList(redis, keys, 'blocked', '203.0.113.9', null);
    const first = await get(path);
    const etag = first.headers.get('etag') ?? '';
    expect(first.status).toBe(200);
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(first.headers.get('cache-control')).toBe('no-cache');
    const again = await get(path, { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    expect(again.headers.get('etag')).toBe(etag);
    const head = await get(path, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String('203.0.113.9\n'.length));
    expect(head.text).toBe('');

    await addToList(redis, keys, 'blocked', '203.0.113.10', null);
    const changed = await get(path, { 'if-none-match': etag });
    expect(changed.status).toBe(200);
    expect(changed.text).toBe('203.0.113.9\n203.0.113.10\n');
    expect(changed.headers.get('etag')).not.toBe(etag);
  });

  it('checks basic auth, ?token=, and bearer tokens with the read role', async () => {
    const refused = await get('/v1/feeds/finance.txt');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Basic realm="fortistream feed finance", charset="UTF-8"');
    expect((await get('/v1/feeds/finance.txt', basic('fgt', 'wrong'))).status).toBe(401);
    expect((await get('/v1/feeds/finance.txt', basic('other', PASSWORD))).status).toBe(401);
    expect((await get('/v1/feeds/finance.txt', { authorization: 'Basic !!!' })).status).toBe(401);
    expect((await get(`/v1/feeds/finance.txt?token=${FEED_TOKEN}`)).status).toBe(401); // finance takes basic, not a token
    expect((await get('/v1/feeds/finance.txt', asFortiGate)).status).toBe(200);
    expect((await get('/v1/feeds/finance.txt', bearer(READER))).status).toBe(200);
    expect((await get('/v1/feeds/finance.txt', bearer(WRITER))).status).toBe(403);
    expect((await get('/v1/feeds/finance.txt', bearer('not-a-token-not-a-token-xx'))).status).toBe(401);

    const tokenRefused = await get('/v1/feeds/blocked.txt?token=wrong-token-0123456789abcdefghij');
    expect(tokenRefused.status).toBe(401);
    expect(tokenRefused.headers.get('www-authenticate')).toBe('Bearer realm="fortistream"');
    expect((await get(`/v1/feeds/blocked.txt?token=${FEED_TOKEN}`)).status).toBe(200);
    expect((await get('/v1/feeds/blocked.txt', asFortiGate)).status).toBe(401); // blocked takes a token, not basic
    expect((await get('/v1/feeds/blocked.txt', bearer(READER))).status).toBe(200);

    // auth none: bearer tokens only
    expect((await get('/v1/feeds/revoked.txt')).status).toBe(401);
    expect((await get(`/v1/feeds/revoked.txt?token=${FEED_TOKEN}`)).status).toBe(401);
    expect((await get('/v1/feeds/revoked.txt', bearer(READER))).status).toBe(200);

    expect((await get('/v1/feeds/nope.txt', bearer(READER))).status).toBe(404);
    expect((await get('/v1/feeds/finance', bearer(READER))).status).toBe(404);
    expect((await get('/v1/feeds/finance.txt', bearer(READER), 'POST')).status).toBe(405);
    expect(await registry.getSingleMetricAsString('fortistream_feed_requests_total')).toMatch(/fortistream_feed_requests_total\{feed="finance",status="401"\} [1-9]/);
  });

  it('cuts a list longer than max_bytes at a line boundary and counts it', async () => {
    // 11 bytes per line: 64 bytes hold 5 of the 8 addresses
    for (let i = 10; i < 18; i += 1) await addToList(redis, keys, 'small', `10.9.0.${i * 10}`, null);
    const res = await get(`/v1/feeds/small.txt?token=${FEED_TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.text).toBe('10.9.0.100\n10.9.0.110\n10.9.0.120\n10.9.0.130\n10.9.0.140\n');
    expect(Buffer.byteLength(res.text)).toBeLessThanOrEqual(64);
    expect(res.headers.get('x-fortistream-entries')).toBe('5/8');
    expect(await registry.getSingleMetricAsString('fortistream_feed_truncated_total')).toContain('fortistream_feed_truncated_total{feed="small"} 1');
    await get(`/v1/feeds/small.txt?token=${FEED_TOKEN}`);
    expect(await registry.getSingleMetricAsString('fortistream_feed_truncated_total')).toContain('fortistream_feed_truncated_total{feed="small"} 2');
  });

  it('serves the same routes over HTTPS when api.tls is set, and refuses a key file others can read', async () => {
    const tlsServer = await startApiServer(app, '127.0.0.1:0', { tls: { cert_file: fixture('server.crt'), key_file: fixture('server.key') } });
    try {
      expect(tlsServer.protocol).toBe('https');
      const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpsRequest(
          { host: '127.0.0.1', port: tlsServer.address().port, path: `/v1/feeds/blocked.txt?token=${FEED_TOKEN}`, ca: readFileSync(fixture('ca.crt')), servername: 'localhost' },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (body += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(reply).toEqual({ status: 200, body: '203.0.113.9\n203.0.113.10\n' });
    } finally {
      await tlsServer.close();
    }
    const readableKey = join(dir, 'readable.key');
    copyFileSync(fixture('server.key'), readableKey);
    chmodSync(readableKey, 0o644);
    await expect(startApiServer(app, '127.0.0.1:0', { tls: { cert_file: fixture('server.crt'), key_file: readableKey } })).rejects.toThrow(/api\.tls\.key_file .* is world-readable/);
  });
});
