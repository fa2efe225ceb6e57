/**
 * `GET /v1/feeds/NAME.txt`: an address feed for a FortiGate external connector (README "Feeds for
 * FortiGate external connectors"). Plain text, one address per line; `ETag` / `If-None-Match`
 * make a poll that finds nothing new cost a 304 without a body.
 *
 * Auth, as a FortiGate can send it: HTTP basic (the resource's `username` / `password`) or a token
 * in the URL (`?token=`), per feed; an API bearer token with the `read` role works for every feed.
 * Secrets are compared as SHA-256 digests in constant time; the query string is never logged.
 */

import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Counter, Registry } from 'prom-client';
import { ifNoneMatchHits } from '../feeds/body.js';
import { sha256, type FeedDefinition } from '../feeds/settings.js';
import { registeredMetric } from '../feeds/metrics.js';
import { createFeedSource } from '../feeds/source.js';
import type { StateKeys } from '../state/keys.js';
import { methodNotAllowed, problem } from './http.js';
import type { RouteHandler } from './ops.js';
import type { TokenStore } from './tokens.js';

export interface FeedRouteOptions {
  /** Key layout of the worker's state (`worker.state.sessions.layout`). */
  readonly keys: StateKeys;
  /** From `loadFeeds(pipeline.feeds)`. */
  readonly feeds: readonly FeedDefinition[];
  /** The worker's metrics registry, so /metrics shows the feed metrics. */
  readonly registry?: Registry;
  /** Body cache; default 1,000 ms. */
  readonly cacheMs?: number;
}

interface FeedRouteDeps {
  readonly redis: Redis;
  readonly tokens: TokenStore;
  readonly logger: Logger;
}

/** Route pattern: the feed name is the capture. */
export const FEED_PATH = /^\/v1\/feeds\/([a-z0-9][a-z0-9_-]{0,62})\.txt$/;

function sameDigest(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

type AuthOutcome = 'ok' | 'unauthorized' | 'forbidden';

function authenticate(feed: FeedDefinition, tokens: TokenStore, request: IncomingMessage, url: URL): AuthOutcome {
  const header = request.headers.authorization;
  let outcome: AuthOutcome = 'unauthorized';
  if (header !== undefined && /^Bearer /i.test(header)) {
    const principal = tokens.authenticate(header);
    if (principal?.roles.has('read')) return 'ok';
    if (principal) outcome = 'forbidden';
  }
  const basic = feed.auth.basic;
  const basicMatch = header !== undefined ? /^Basic[ ]+([A-Za-z0-9+/=]+)[ ]*$/i.exec(header) : null;
  if (basic && basicMatch) {
    const decoded = Buffer.from(basicMatch[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      // both parts are always compared, so the time taken does not tell which one was wrong
      const userOk = sameDigest(sha256(decoded.slice(0, colon)), sha256(basic.username));
      const passwordOk = sameDigest(sha256(decoded.slice(colon + 1)), basic.passwordSha256);
      if (userOk && passwordOk) return 'ok';
    }
  }
  const token = url.searchParams.get('token');
  if (feed.auth.tokenSha256 && token !== null && sameDigest(sha256(token), feed.auth.tokenSha256)) return 'ok';
  return outcome;
}

/** The route; `params[0]` is the feed name (the capture of FEED_PATH). */
export function createFeedsRoute(deps: FeedRouteDeps, options: FeedRouteOptions): RouteHandler {
  const { redis, tokens } = deps;
  const logger = deps.logger.child({ route: 'feeds' });
  const registry = options.registry ?? new Registry();
  const source = createFeedSource({
    redis,
    keys: options.keys,
    feeds: options.feeds,
    logger,
    registry,
    ...(options.cacheMs !== undefined ? { cacheMs: options.cacheMs } : {}),
  });
  const requests = registeredMetric(
    registry,
    'fortistream_feed_requests_total',
    () =>
      new Counter({
        name: 'fortistream_feed_requests_total',
        help: 'Feed requests by feed and HTTP status (200 served, 304 unchanged, 401/403 refused)',
        labelNames: ['feed', 'status'],
        registers: [registry],
      }),
  );

  return async (request, response, url, params) => {
    const name = params[0] ?? '';
    if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed(response, ['GET', 'HEAD']);
    const feed = source.feeds.get(name);
    if (!feed) return problem(response, 404, 'not_found', `no feed named "${name}"`);
    const auth = authenticate(feed, tokens, request, url);
    if (auth !== 'ok') {
      requests.inc({ feed: name, status: auth === 'forbidden' ? '403' : '401' });
      logger.debug({ feed: name, outcome: auth, remote: request.socket.remoteAddress }, 'feed request refused');
      if (auth === 'forbidden') return problem(response, 403, 'forbidden', 'the bearer token lacks the read role');
      const challenge = feed.auth.basic ? `Basic realm="fortistream feed ${name}", charset="UTF-8"` : 'Bearer realm="fortistream"';
      return problem(response, 401, 'unauthorized', 'credentials required (basic auth, ?token= or a bearer token, as the feed allows)', {
        'www-authenticate': challenge,
      });
    }
    const rendered = await source.get(name);
    if (!rendered) return problem(response, 404, 'not_found', `no feed named "${name}"`);
    const headers: Record<string, string | number> = {
      etag: rendered.etag,
      // FortiGates and proxies must ask again each time; the ETag makes asking cheap
      'cache-control': 'no-cache',
      'x-fortistream-entries': `${rendered.addresses.length}/${rendered.total}`,
    };
    if (ifNoneMatchHits(request.headers['if-none-match'], rendered.etag)) {
      requests.inc({ feed: name, status: '304' });
      response.writeHead(304, headers);
      response.end();
      return;
    }
    requests.inc({ feed: name, status: '200' });
    response.writeHead(200, { ...headers, 'content-type': 'text/plain; charset=utf-8', 'content-length': rendered.body.length });
    response.end(request.method === 'HEAD' ? undefined : rendered.body);
  };
}
