import { createHash } from 'node:crypto';
import { request, type IncomingMessage } from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiApp, type ApiApp } from '../../../src/api/app.js';
import { startApiServer, type ApiServer } from '../../../src/api/server.js';
import { createTokenStore } from '../../../src/api/tokens.js';
import { testRedisClient, uniquePrefix } from '../../support/redis.js';

const READER = 'reader-token-0123456789abcdefghijkl';
const WRITER = 'writer-token-0123456789abcdefghijkl';

interface SseEvent {
  id: string;
  data: Record<string, string>;
}

/** Opens an SSE request; collects events until `count` arrived, then leaves the response open. */
function openStream(url: string, headers: Record<string, string>): Promise<{ res: IncomingMessage; next(count: number): Promise<SseEvent[]>; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers });
    req.on('error', reject);
    req.on('response', (res) => {
      res.setEncoding('utf8');
      let buffer = '';
      const events: SseEvent[] = [];
      let waiter: { count: number; resolve: (events: SseEvent[]) => void } | undefined;
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
          const id = /^id: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (id !== undefined && data !== undefined) events.push({ id, data: JSON.parse(data) as Record<string, string> });
        }
        if (waiter && events.length >= waiter.count) {
          waiter.resolve(events.splice(0, waiter.count));
          waiter = undefined;
        }
      });
      resolve({
        res,
        next: (count) =>
          new Promise((done) => {
            if (events.length >= count) done(events.splice(0, count));
            else waiter = { count, resolve: done };
          }),
        close: () => req.destroy(),
      });
    });
    req.end();
  });
}

function status(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    req.on('error', reject);
    req.end();
  });
}

describe('SSE endpoint GET /v1/events/:profile', () => {
  const redis = testRedisClient();
  const prefix = uniquePrefix('sse');
  const stream = `${prefix}events:soc`;
  const connectionName = `sse-${prefix.replaceAll(':', '')}`;
  let app: ApiApp;
  let server: ApiServer;
  let base: string;

  async function sseConnections(): Promise<number> {
    const list = String(await redis.call('CLIENT', 'LIST'));
    return list.split('\n').filter((line) => line.includes(` name=${connectionName} `)).length;
  }

  beforeAll(async () => {
    const tokens = createTokenStore(
      {
        tokens: [
          { name: 'reader', token_sha256: createHash('sha256').update(READER).digest('hex'), roles: ['read'] },
          { name: 'writer', token: WRITER, roles: ['write'] },
        ],
      },
      'test',
    );
    app = createApiApp({ redis, streams: { soc: stream }, tokens, logger: pino({ level: 'silent' }), keepaliveMs: 100, blockMs: 200, connectionName });
    server = await startApiServer(app, '127.0.0.1:0');
    base = `http://127.0.0.1:${server.address().port}`;
  });

  afterAll(async () => {
    await server.close();
    await redis.quit();
  });

  it('answers /healthz without a token', async () => {
    expect(await status(`${base}/healthz`)).toBe(200);
  });

  it('refuses a missing or bad token (401) and a token without read (403)', async () => {
    expect(await status(`${base}/v1/events/soc`)).toBe(401);
    expect(await status(`${base}/v1/events/soc`, { authorization: 'Bearer nope-nope-nope-nope-nope-nope' })).toBe(401);
    expect(await status(`${base}/v1/events/soc`, { authorization: `Basic ${READER}` })).toBe(401);
    expect(await status(`${base}/v1/events/soc`, { authorization: `Bearer ${WRITER}` })).toBe(403);
    expect(await status(`${base}/v1/events/nope`, { authorization: `Bearer ${READER}` })).toBe(404);
    expect(await status(`${base}/v1/events/soc?from=bogus`, { authorization: `Bearer ${READER}` })).toBe(400);
  });

  it('streams new entries, resumes after Last-Event-ID, sends keep-alives, frees the connection on disconnect', async () => {
    const auth = { authorization: `Bearer ${READER}` };
    const first = await openStream(`${base}/v1/events/soc`, auth);
    expect(first.res.statusCode).toBe(200);
    expect(first.res.headers['content-type']).toMatch(/^text\/event-stream/);
    let keepalives = 0;
    first.res.on('data', (chunk: string) => (keepalives += chunk.split(': keep-alive').length - 1));
    await new Promise((r) => setTimeout(r, 150));
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push(String(await redis.xadd(stream, '*', 'n', String(i), 'text', `line\u2028${i}`)));
    const got = await first.next(5);
    expect(got.map((e) => e.id)).toEqual(ids);
    expect(got.map((e) => e.data.n)).toEqual(['0', '1', '2', '3', '4']);
    expect(got[0]?.data.text).toBe('line\u20280');
    await new Promise((r) => setTimeout(r, 250));
    expect(keepalives).toBeGreaterThan(0);
    expect(app.sseClients()).toBe(1);
    expect(await sseConnections()).toBe(1);

    first.close();
    const deadline = Date.now() + 5000;
    while ((app.sseClients() > 0 || (await sseConnections()) > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    expect(app.sseClients()).toBe(0);
    expect(await sseConnections()).toBe(0);

    // resume: everything after the second entry, including entries added while disconnected
    ids.push(String(await redis.xadd(stream, '*', 'n', '5')));
    const resumed = await openStream(`${base}/v1/events/soc`, { ...auth, 'last-event-id': ids[1] as string });
    expect((await resumed.next(4)).map((e) => e.id)).toEqual(ids.slice(2));
    resumed.close();

    const fromStart = await openStream(`${base}/v1/events/soc?from=0`, auth);
    expect((await fromStart.next(6)).map((e) => e.id)).toEqual(ids);
    fromStart.close();
  });
});
