/**
 * The HTTP API as a `node:http` request handler; it never listens (see `server.ts`), so tests can
 * serve it on port 0 or call it directly.
 *
 * Routes:
 * - `GET /healthz` → 200 `{"status":"ok"}` (no auth, no Redis).
 * - `GET /v1/events/:name` → the stream of profile (or sink) `name` as Server-Sent Events: each entry
 *   is `id: <stream entry id>` + `data: <JSON object of the entry's fields>`. `Last-Event-ID`
 *   (header) resumes after that id; otherwise `?from=` (`$` = new entries only, the default; `0` =
 *   from the oldest kept entry; or an entry id to read after). Needs a bearer token with role `read`.
 * - The operations routes (ops.ts): `GET /readyz` (no auth), `GET /metrics` (read),
 *   `GET|DELETE /v1/sessions` (read|write), `GET /v1/counters/:name` (read), `GET /v1/decision`
 *   (read), `POST /v1/identity/events` (write).
 * - `GET /v1/feeds/:name.txt` → an address feed for FortiGate external connectors (feeds.ts).
 *
 * Connection model: each SSE client gets its own Redis connection (a duplicate of the shared client)
 * that loops on `XREAD BLOCK`; when the client goes away the connection is closed at once, which also
 * ends the blocked read. Simple and isolated (a slow client never holds back another), at the cost of
 * one Redis connection per client: `max_sse_clients` bounds it (more get 503).
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { fieldsToRecord, parseReadReply } from '../client/stream-replies.js';
import { createFeedsRoute, FEED_PATH, type FeedRouteOptions } from './feeds.js';
import { problem, sendJson } from './http.js';
import { createOpsRoutes, type OpsOptions, type RouteHandler } from './ops.js';
import type { TokenStore } from './tokens.js';

export interface ApiAppOptions {
  /** Shared client; each SSE stream duplicates it. */
  readonly redis: Redis;
  /** Full stream name by profile/sink name. */
  readonly streams: Readonly<Record<string, string>>;
  readonly tokens: TokenStore;
  readonly logger: Logger;
  /** `: keep-alive` comment interval on idle streams; default 15,000. */
  readonly keepaliveMs?: number;
  /** Concurrent SSE streams; default 100. */
  readonly maxSseClients?: number;
  /** Longest single `XREAD BLOCK`; default 5,000. */
  readonly blockMs?: number;
  /** Entries per read; default 100. */
  readonly readCount?: number;
  /** `CLIENT SETNAME` of the per-client connections; default `fortistream-sse`. */
  readonly connectionName?: string;
  /** The operations routes' view of the worker, state and limits (see ops.ts); without it they answer 404/only Redis checks. */
  readonly ops?: OpsOptions;
  /** Address feeds (`loadFeeds(pipeline.feeds)`, the state key layout); without it /v1/feeds answers 404. */
  readonly feeds?: FeedRouteOptions;
}

export interface ApiApp {
  (request: IncomingMessage, response: ServerResponse): void;
  /** SSE streams open now. */
  sseClients(): number;
  /** Ends every open SSE stream (their Redis connections close). */
  close(): Promise<void>;
}

const STREAM_ID = /^\d{1,20}(-\d{1,20})?$/;
/** JSON.stringify leaves U+2028/U+2029 raw; some SSE consumers treat them as line ends. */
const LINE_SEPARATORS = /[\u2028\u2029]/g;

export function createApiApp(options: ApiAppOptions): ApiApp {
  const { redis, streams, tokens, logger } = options;
  const keepaliveMs = options.keepaliveMs ?? 15_000;
  const maxSseClients = options.maxSseClients ?? 100;
  const blockMs = options.blockMs ?? 5000;
  const readCount = options.readCount ?? 100;
  const connectionName = options.connectionName ?? 'fortistream-sse';
  const open = new Set<() => Promise<void>>();
  const ops = createOpsRoutes({ redis, tokens, logger }, options.ops ?? {});
  const feeds = options.feeds ? createFeedsRoute({ redis, tokens, logger }, options.feeds) : undefined;

  const run = (route: RouteHandler, request: IncomingMessage, response: ServerResponse, url: URL, params: readonly string[] = []): void => {
    route(request, response, url, params).catch((error: unknown) => {
      logger.warn({ err: error instanceof Error ? error.message : String(error), path: url.pathname }, 'api request failed');
      if (!response.headersSent) problem(response, 503, 'unavailable', 'the request could not be completed (Redis unavailable?)');
      else response.destroy();
    });
  };

  async function resolveStart(stream: string, from: string): Promise<string> {
    if (from !== '$') return from;
    // `$` is resolved once: re-sending `$` on every read would skip entries added between two reads
    const rows = await redis.xrevrange(stream, '+', '-', 'COUNT', 1);
    return rows[0]?.[0] ?? '0-0';
  }

  function serveEvents(request: IncomingMessage, response: ServerResponse, name: string, url: URL): void {
    const principal = tokens.authenticate(request.headers.authorization);
    if (principal === undefined) {
      problem(response, 401, 'unauthorized', 'a valid bearer token is required', { 'www-authenticate': 'Bearer realm="fortistream"' });
      return;
    }
    if (!principal.roles.has('read')) {
      problem(response, 403, 'forbidden', `token "${principal.name}" lacks the read role`);
      return;
    }
    const stream = Object.hasOwn(streams, name) ? streams[name] : undefined;
    if (stream === undefined) {
      problem(response, 404, 'not_found', `no profile or sink named "${name}"`);
      return;
    }
    const lastEventId = request.headers['last-event-id'];
    const from = (typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : undefined) ?? url.searchParams.get('from') ?? '$';
    if (from !== '$' && !STREAM_ID.test(from)) {
      problem(response, 400, 'bad_request', 'Last-Event-ID / from must be a stream entry id (e.g. 1700000000000-0), 0 or $');
      return;
    }
    if (open.size >= maxSseClients) {
      problem(response, 503, 'too_many_streams', `at most ${maxSseClients} event streams at once`, { 'retry-after': '5' });
      return;
    }

    const log = logger.child({ route: 'events', profile: name, token: principal.name });
    const connection = redis.duplicate({ connectionName, maxRetriesPerRequest: 1, enableOfflineQueue: true });
    connection.on('error', (error: Error) => log.debug({ err: error.message }, 'sse redis connection error'));
    let closed = false;
    let keepalive: NodeJS.Timeout | undefined;
    let finished: Promise<void> | undefined;

    const stop = (): Promise<void> => {
      if (!closed) {
        closed = true;
        if (keepalive) clearInterval(keepalive);
        // disconnect (not QUIT): ends a blocked XREAD at once and frees the server-side client
        connection.disconnect();
        if (!response.writableEnded) response.end();
      }
      return finished ?? Promise.resolve();
    };
    open.add(stop);
    request.on('close', () => void stop());
    response.on('close', () => void stop());

    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    response.write(': fortistream events\n\n');
    keepalive = setInterval(() => {
      if (!closed) response.write(': keep-alive\n\n');
    }, keepaliveMs);
    keepalive.unref();

    const drain = (): Promise<void> =>
      new Promise((resolve) => {
        const done = (): void => {
          response.off('drain', done);
          response.off('close', done);
          resolve();
        };
        response.once('drain', done);
        response.once('close', done);
      });

    finished = (async () => {
      try {
        let lastId = await resolveStart(stream, from);
        while (!closed) {
          const reply = await connection.call('XREAD', 'COUNT', readCount, 'BLOCK', blockMs, 'STREAMS', stream, lastId);
          if (closed) break;
          for (const entry of parseReadReply(reply)) {
            lastId = entry.id;
            const data = JSON.stringify(fieldsToRecord(entry.fields ?? [])).replace(LINE_SEPARATORS, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
            // a stream id never holds a line break, so `id:` cannot be split
            if (!response.write(`id: ${entry.id}\ndata: ${data}\n\n`)) await drain();
            if (closed) break;
          }
        }
      } catch (error) {
        if (!closed) log.warn({ err: error instanceof Error ? error.message : String(error) }, 'event stream ended by an error');
      } finally {
        open.delete(stop);
        void stop();
      }
    })();
  }

  const handler = (request: IncomingMessage, response: ServerResponse): void => {
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://localhost');
    } catch {
      problem(response, 400, 'bad_request', 'malformed request target');
      return;
    }
    const path = url.pathname;
    if (path === '/healthz') {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        problem(response, 405, 'method_not_allowed', 'use GET', { allow: 'GET, HEAD' });
        return;
      }
      sendJson(response, 200, { status: 'ok' });
      return;
    }
    switch (path) {
      case '/readyz':
        return run(ops.readyz, request, response, url);
      case '/metrics':
        return run(ops.metrics, request, response, url);
      case '/v1/sessions':
        return run(ops.sessions, request, response, url);
      case '/v1/decision':
        return run(ops.decision, request, response, url);
      case '/v1/identity/events':
        return run(ops.identityEvents, request, response, url);
      default:
        break;
    }
    const counter = /^\/v1\/counters\/([A-Za-z0-9_.-]{1,64})$/.exec(path);
    if (counter) return run(ops.counter, request, response, url, [counter[1] as string]);
    const feed = feeds ? FEED_PATH.exec(path) : null;
    if (feeds && feed) return run(feeds, request, response, url, [feed[1] as string]);
    const match = /^\/v1\/events\/([a-z][a-z0-9_]{0,62})$/.exec(path);
    if (match) {
      if (request.method !== 'GET') {
        problem(response, 405, 'method_not_allowed', 'use GET', { allow: 'GET' });
        return;
      }
      serveEvents(request, response, match[1] as string, url);
      return;
    }
    problem(response, 404, 'not_found', 'no such route');
  };

  return Object.assign(handler, {
    sseClients: () => open.size,
    async close() {
      await Promise.all([...open].map((stop) => stop()));
    },
  });
}
