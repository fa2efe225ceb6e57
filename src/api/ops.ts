/**
 * The operations routes of the HTTP API (see app.ts for the routing and README "Operations API"):
 * readiness, Prometheus metrics, sessions (read, revoke), counters, the decision fast path and
 * identity events from an identity provider.
 */

import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { errorMessage } from '../errors.js';
import { createCounterStore, type CounterSpec, type CounterStore } from '../state/counters.js';
import { createSessionReader, type SessionReader } from '../state/session-reader.js';
import type { Session, SessionMethod, TimeoutType } from '../state/session-model.js';
import type { SessionChange, SessionStore } from '../state/sessions.js';
import { authorize, BodyError, methodNotAllowed, problem, readBody, sendJson } from './http.js';
import type { TokenStore } from './tokens.js';
import type { RevokeDependencies } from '../actions/revoke.js';
import { revokeSessions } from '../actions/revoke.js';
import { createDeviceResolver } from '../actions/device-resolver.js';

const NO_DEVICES = createDeviceResolver({});

/** What the API reads from the running worker (a `Worker` fits). */
export interface ApiWorkerView {
  readonly metrics: { readonly registry: Registry };
  readonly pipeline: { readonly buffered: number };
  addresses(): Record<string, { host: string; port: number }>;
  streams(): { events: string[]; dead: string[] };
}

/** A counter the API can read: its spec and the event fields that key it. */
export interface ApiCounter {
  readonly spec: CounterSpec;
  readonly key: readonly string[];
}

/** Live state (the pipeline declares sessions or counters). */
export interface ApiState {
  /** The worker's session store (`worker.state.sessions`): revocation and identity events go through it. */
  readonly sessions: SessionStore;
  readonly counters: readonly ApiCounter[];
  /** Timeout of an `idp` session with these groups (per group, then `sessions.methods.idp`, then global). */
  resolveTimeout(method: SessionMethod, groups: readonly string[]): { readonly type: TimeoutType; readonly seconds: number };
}

export interface OpsOptions {
  readonly worker?: ApiWorkerView;
  /** Read on every request: a getter may hand out a new object after a pipeline reload (new counters, timeouts). */
  readonly state?: ApiState;
  /** Listeners `/readyz` expects bound; default: those `worker.addresses()` reports (at least one). */
  readonly expectedListeners?: number;
  /** `/readyz` fails while the pipeline buffers this many bytes or more (lag); default unlimited. */
  readonly maxBufferedBytes?: number;
  /** Deadline of the `/readyz` PING; default 250 ms. */
  readonly pingTimeoutMs?: number;
  /** Names of the UDP sources (their bound ports get the kernel drop metric). */
  readonly udpSources?: readonly string[];
  /** Files read for UDP kernel drops; default `/proc/net/udp`, `/proc/net/udp6`. */
  readonly procNetUdp?: readonly string[];
  /** Identity events per request; default 1,000. */
  readonly maxIdentityEvents?: number;
  /** Request body limit of POST routes; default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** What a revocation enqueues (deauth, ban) and where revoked addresses are listed; none: sessions only. */
  readonly enforcement?: Omit<RevokeDependencies, 'sessions'>;
}

interface OpsDeps {
  readonly redis: Redis;
  readonly tokens: TokenStore;
  readonly logger: Logger;
}

export type RouteHandler = (request: IncomingMessage, response: ServerResponse, url: URL, params: readonly string[]) => Promise<void>;

/** Escapes a Prometheus label value. */
function labelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/**
 * Sums the `drops` column of `/proc/net/udp{,6}` per local port. Lines that do not look like a
 * socket row are skipped; a missing file gives nothing.
 */
export function parseProcNetUdp(text: string, ports: ReadonlySet<number>): Map<number, number> {
  const drops = new Map<number, number>();
  const lines = text.split('\n');
  const header = (lines[0] ?? '').trim().split(/\s+/);
  // The header names one column fewer than a row has (`tx_queue rx_queue` is one field in rows, `tr tm->when` too),
  // so drops is taken as the last field of each row.
  if (!header.includes('drops')) return drops;
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4) continue;
    const local = fields[1];
    const last = fields[fields.length - 1];
    if (local === undefined || last === undefined) continue;
    const colon = local.lastIndexOf(':');
    if (colon < 0) continue;
    const port = Number.parseInt(local.slice(colon + 1), 16);
    const value = Number(last);
    if (!Number.isSafeInteger(port) || !Number.isSafeInteger(value) || value < 0 || !ports.has(port)) continue;
    drops.set(port, (drops.get(port) ?? 0) + value);
  }
  return drops;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function sessionJson(session: Session): Record<string, unknown> {
  return {
    id: session.id,
    user: session.user,
    groups: session.groups,
    ip: session.ip,
    ...(session.tunnelIp !== undefined ? { tunnel_ip: session.tunnelIp } : {}),
    device: session.device,
    ...(session.vdom !== undefined ? { vdom: session.vdom } : {}),
    method: session.method,
    created: new Date(session.createdMs).toISOString(),
    last_seen: new Date(session.lastSeenMs).toISOString(),
    expires: new Date(session.expiresMs).toISOString(),
    timeout_type: session.timeoutType,
    timeout_seconds: session.timeoutSeconds,
    opened_by: session.openedBy,
    ...(session.externalId !== undefined ? { external_id: session.externalId } : {}),
  };
}

const NAME = /^[A-Za-z0-9_.:@-]{1,64}$/;
const MAX_USER = 256;

function identityBatchSchema(maxEvents: number) {
  const event = z.strictObject({
    type: z.enum(['login', 'logout']),
    user: z.string().trim().min(1, 'required').max(MAX_USER, `at most ${MAX_USER} characters`),
    groups: z.array(z.string().min(1).max(MAX_USER)).max(256, 'at most 256 groups').optional(),
    source_ip: z.union([z.ipv4(), z.ipv6()], { error: 'an IPv4 or IPv6 address' }),
    ttl_seconds: z.int().min(1).max(30 * 24 * 3600).optional(),
    idp: z.string().regex(NAME, 'letters, digits and _ . : @ - (1 to 64 characters)').optional(),
    session_id: z.string().min(1).max(256).optional(),
    device: z.string().regex(NAME, 'letters, digits and _ . : @ - (1 to 64 characters)').optional(),
  });
  return z.strictObject({ events: z.array(event).min(1, 'at least one event').max(maxEvents, `at most ${maxEvents} events per request`) });
}

export function createOpsRoutes(deps: OpsDeps, options: OpsOptions) {
  const { redis, tokens, logger } = deps;
  const { worker } = options;
  const pingTimeoutMs = options.pingTimeoutMs ?? 250;
  const procFiles = options.procNetUdp ?? ['/proc/net/udp', '/proc/net/udp6'];
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  const batchSchema = identityBatchSchema(options.maxIdentityEvents ?? 1000);

  /** What the routes derive from `options.state`, rebuilt when a pipeline reload replaced it. */
  interface StateView {
    readonly state: ApiState | undefined;
    readonly layout: ApiState['sessions']['layout'] | undefined;
    readonly reader: SessionReader | undefined;
    readonly counterStore: CounterStore | undefined;
    readonly countersByName: ReadonlyMap<string, ApiCounter>;
    readonly ipCounters: readonly ApiCounter[];
  }
  let view: StateView | undefined;
  const stateView = (): StateView => {
    const state = options.state;
    if (view !== undefined && view.state === state) return view;
    const layout = state?.sessions.layout;
    const keyOptions = layout ? { prefix: layout.prefix, auditStream: layout.auditStream } : undefined;
    view = {
      state,
      layout,
      reader: keyOptions ? createSessionReader(redis, keyOptions) : undefined,
      counterStore: keyOptions ? createCounterStore(redis, keyOptions) : undefined,
      countersByName: new Map((state?.counters ?? []).map((counter) => [counter.spec.name, counter])),
      // The decision route reads only counters keyed by the source address alone, with a threshold.
      ipCounters: (state?.counters ?? []).filter((c) => c.key.length === 1 && c.key[0] === 'source.ip' && c.spec.threshold !== undefined),
    };
    return view;
  };

  const noState = (response: ServerResponse): void =>
    problem(response, 404, 'not_configured', 'the pipeline declares no sessions or counters');

  /** `?ip=` or `?user=`, exactly one; answers 400 and returns undefined otherwise. */
  const selector = (response: ServerResponse, url: URL): { by: 'ip'; ip: string } | { by: 'user'; user: string } | undefined => {
    const ip = url.searchParams.get('ip');
    const user = url.searchParams.get('user');
    if ((ip === null) === (user === null)) {
      problem(response, 400, 'bad_request', 'give exactly one of ?ip= or ?user=');
      return undefined;
    }
    if (ip !== null) {
      if (isIP(ip) === 0) {
        problem(response, 400, 'bad_request', 'ip: an IPv4 or IPv6 address');
        return undefined;
      }
      return { by: 'ip', ip };
    }
    if (user === null || user === '' || user.length > MAX_USER) {
      problem(response, 400, 'bad_request', `user: 1 to ${MAX_USER} characters`);
      return undefined;
    }
    return { by: 'user', user };
  };

  const readyz: RouteHandler = async (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed(response, ['GET', 'HEAD']);
    const started = process.hrtime.bigint();
    let redisCheck: { ok: boolean; ms: number };
    try {
      const reply = await withTimeout(redis.ping(), pingTimeoutMs, 'PING');
      redisCheck = { ok: reply === 'PONG', ms: Number(process.hrtime.bigint() - started) / 1e6 };
    } catch (error) {
      // the reason goes to the log only: /readyz has no token and an ioredis error names the server
      logger.warn({ err: errorMessage(error) }, 'readyz: redis check failed');
      redisCheck = { ok: false, ms: Number(process.hrtime.bigint() - started) / 1e6 };
    }
    const checks: Record<string, unknown> = { redis: redisCheck };
    let ready = redisCheck.ok;
    if (worker) {
      const bound = Object.keys(worker.addresses()).length;
      const expected = options.expectedListeners ?? Math.max(1, bound);
      const listenersOk = bound >= expected;
      const buffered = worker.pipeline.buffered;
      const lagOk = options.maxBufferedBytes === undefined || buffered < options.maxBufferedBytes;
      checks.listeners = { ok: listenersOk, bound, expected };
      checks.lag = { ok: lagOk, buffered_bytes: buffered, ...(options.maxBufferedBytes !== undefined ? { limit_bytes: options.maxBufferedBytes } : {}) };
      ready = ready && listenersOk && lagOk;
    }
    sendJson(response, ready ? 200 : 503, { status: ready ? 'ready' : 'not_ready', checks });
  };

  const udpDrops = async (): Promise<string> => {
    if (!worker || !options.udpSources || options.udpSources.length === 0) return '';
    const addresses = worker.addresses();
    const ports = new Map<number, string>();
    for (const name of options.udpSources) {
      const address = addresses[name];
      if (address) ports.set(address.port, name);
    }
    if (ports.size === 0) return '';
    const totals = new Map<number, number>();
    let found = false;
    for (const file of procFiles) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch {
        continue;
      }
      found = true;
      for (const [port, drops] of parseProcNetUdp(text, new Set(ports.keys()))) totals.set(port, (totals.get(port) ?? 0) + drops);
    }
    if (!found) return '';
    const lines = [
      '# HELP fortistream_udp_kernel_drops_total Datagrams the kernel dropped on a bound UDP listener (socket buffer full), from /proc/net/udp.',
      '# TYPE fortistream_udp_kernel_drops_total counter',
    ];
    for (const [port, source] of ports) {
      lines.push(`fortistream_udp_kernel_drops_total{source="${labelValue(source)}",port="${port}"} ${totals.get(port) ?? 0}`);
    }
    return `${lines.join('\n')}\n`;
  };

  /** Gauges computed at scrape time: one pipeline of ZCARD/XLEN. */
  const scrapeGauges = async (): Promise<string> => {
    const { layout } = stateView();
    const streams = worker ? [...new Set([...worker.streams().events, ...worker.streams().dead, ...(layout ? [layout.auditStream] : [])])] : [];
    const pipeline = redis.pipeline();
    if (layout) pipeline.zcard(layout.expiry);
    for (const stream of streams) pipeline.xlen(stream);
    if (!layout && streams.length === 0) return '';
    const results = (await withTimeout(pipeline.exec(), 2000, 'metrics reads')) ?? [];
    const values = results.map(([error, value]) => (error ? undefined : Number(value)));
    const lines: string[] = [];
    let index = 0;
    if (layout) {
      const sessions = values[index++];
      lines.push('# HELP fortistream_active_sessions Live identity sessions (entries of the expiry index).', '# TYPE fortistream_active_sessions gauge');
      if (sessions !== undefined) lines.push(`fortistream_active_sessions ${sessions}`);
    }
    if (streams.length > 0) {
      lines.push('# HELP fortistream_stream_length Entries in a Redis stream this worker writes (XLEN).', '# TYPE fortistream_stream_length gauge');
      for (const stream of streams) {
        const length = values[index++];
        if (length !== undefined) lines.push(`fortistream_stream_length{stream="${labelValue(stream)}"} ${length}`);
      }
    }
    return `${lines.join('\n')}\n`;
  };

  const metrics: RouteHandler = async (request, response) => {
    if (request.method !== 'GET') return methodNotAllowed(response, ['GET']);
    if (!authorize(tokens, request, response, 'read')) return;
    const parts: string[] = [];
    if (worker) parts.push(await worker.metrics.registry.metrics());
    try {
      parts.push(await scrapeGauges());
    } catch (error) {
      logger.warn({ err: errorMessage(error) }, 'metrics: redis gauges unavailable');
    }
    parts.push(await udpDrops());
    const text = parts.filter((part) => part !== '').map((part) => (part.endsWith('\n') ? part : `${part}\n`)).join('');
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    response.end(text);
  };

  const sessions: RouteHandler = async (request, response, url) => {
    if (request.method !== 'GET' && request.method !== 'DELETE') return methodNotAllowed(response, ['GET', 'DELETE']);
    const principal = authorize(tokens, request, response, request.method === 'GET' ? 'read' : 'write');
    if (!principal) return;
    const { state, reader } = stateView();
    if (!state || !reader) return noState(response);
    const by = selector(response, url);
    if (!by) return;
    const nowMs = Date.now();
    if (request.method === 'GET') {
      const found = by.by === 'ip' ? await reader.byIp(by.ip, { nowMs }) : await reader.byUser(by.user, { nowMs });
      sendJson(response, 200, { count: found.length, sessions: found.map(sessionJson) });
      return;
    }
    const reason = (url.searchParams.get('reason') ?? 'revoked over the API').slice(0, 200);
    const banText = url.searchParams.get('ban');
    const banSeconds = banText === null ? undefined : /^\d{1,9}$/.test(banText) ? Number(banText) : Number.NaN;
    if (banSeconds !== undefined && Number.isNaN(banSeconds)) return problem(response, 400, 'bad_request', 'ban: seconds as an integer ≥ 0 (0 = until cleared)');
    const deauthText = url.searchParams.get('deauth');
    if (deauthText !== null && deauthText !== 'true' && deauthText !== 'false') return problem(response, 400, 'bad_request', 'deauth: true or false');
    const actor = `api:${principal.name}`;
    const outcome = await revokeSessions(
      { sessions: state.sessions, devices: options.enforcement?.devices ?? NO_DEVICES, ...options.enforcement },
      { selector: by, reason, actor, banSeconds, deauth: deauthText !== 'false', nowMs },
    );
    logger.info({ token: principal.name, selector: by, revoked: outcome.revoked.length, jobs: outcome.jobs.length, reason }, 'sessions revoked');
    sendJson(response, 200, {
      revoked: outcome.revoked.length,
      sessions: outcome.revoked.map(sessionJson),
      reason,
      actor,
      jobs: outcome.jobs.map((job) => ({ id: job.jobId, type: job.type, device: job.device, ip: job.ip, duplicate: job.duplicate })),
      skipped: outcome.skipped,
    });
  };

  const counter: RouteHandler = async (request, response, url, params) => {
    if (request.method !== 'GET') return methodNotAllowed(response, ['GET']);
    if (!authorize(tokens, request, response, 'read')) return;
    const name = params[0] ?? '';
    const { countersByName, counterStore } = stateView();
    const found = countersByName.get(name);
    if (!counterStore || !found) return problem(response, 404, 'not_found', `no counter named "${name}"`);
    const key = url.searchParams.get('key');
    if (key === null || key === '' || key.length > 1024) return problem(response, 400, 'bad_request', 'key: required (the key fields joined with |), 1 to 1024 characters');
    const reading = await counterStore.read(found.spec, key, Date.now());
    const threshold = found.spec.threshold;
    sendJson(response, 200, {
      counter: reading.counter,
      key: reading.key,
      key_fields: found.key,
      value: reading.value,
      ...(threshold !== undefined ? { threshold, over: reading.value >= threshold } : {}),
      window_seconds: found.spec.windowSeconds,
      window_start: new Date(reading.windowStartMs).toISOString(),
      window_end: new Date(reading.windowEndMs).toISOString(),
      buckets: reading.buckets.map((b) => ({ start: new Date(b.startMs).toISOString(), value: b.value })),
    });
  };

  const decision: RouteHandler = async (request, response, url) => {
    if (request.method !== 'GET') return methodNotAllowed(response, ['GET']);
    if (!authorize(tokens, request, response, 'read')) return;
    const { reader, counterStore, ipCounters } = stateView();
    if (!reader || !counterStore) return noState(response);
    const ip = url.searchParams.get('ip');
    if (ip === null || isIP(ip) === 0) return problem(response, 400, 'bad_request', 'ip: an IPv4 or IPv6 address');
    const nowMs = Date.now();
    // Sessions and counters are independent reads: sent together, they share the round trips.
    const [found, readings] = await Promise.all([
      reader.byIp(ip, { nowMs }),
      Promise.all(ipCounters.map((c) => counterStore.read(c.spec, ip, nowMs))),
    ]);
    const users = new Set<string>();
    const groups = new Set<string>();
    const methods = new Set<string>();
    let expiresMs = 0;
    for (const session of found) {
      users.add(session.user);
      for (const group of session.groups) groups.add(group);
      methods.add(session.method);
      if (session.expiresMs > expiresMs) expiresMs = session.expiresMs;
    }
    const over: { counter: string; value: number; threshold: number }[] = [];
    readings.forEach((reading, index) => {
      const threshold = ipCounters[index]?.spec.threshold;
      if (threshold !== undefined && reading.value >= threshold) over.push({ counter: reading.counter, value: reading.value, threshold });
    });
    sendJson(response, 200, {
      ip,
      known: found.length > 0,
      users: [...users],
      groups: [...groups],
      methods: [...methods],
      expires: expiresMs > 0 ? new Date(expiresMs).toISOString() : null,
      over,
    });
  };

  const identityEvents: RouteHandler = async (request, response) => {
    if (request.method !== 'POST') return methodNotAllowed(response, ['POST']);
    const principal = authorize(tokens, request, response, 'write');
    if (!principal) return;
    const { state } = stateView();
    if (!state) return noState(response);
    const type = request.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(type)) {
      request.resume();
      return problem(response, 415, 'unsupported_media_type', 'send application/json');
    }
    let body: Buffer;
    try {
      body = await readBody(request, maxBody);
    } catch (error) {
      if (error instanceof BodyError) return problem(response, error.status, error.code, error.message, { connection: 'close' });
      throw error;
    }
    let document: unknown;
    try {
      document = JSON.parse(body.toString('utf8'));
    } catch {
      return problem(response, 400, 'invalid_json', 'the body is not valid JSON');
    }
    const parsed = batchSchema.safeParse(document);
    if (!parsed.success) {
      sendJson(response, 400, {
        error: 'invalid_events',
        message: 'the batch is invalid; nothing was applied',
        issues: parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })),
      });
      return;
    }
    const nowMs = Date.now();
    const ops: SessionChange[] = parsed.data.events.map((event): SessionChange => {
      const device = event.device ?? (event.idp !== undefined ? `idp:${event.idp}` : 'idp');
      if (event.type === 'logout') {
        return {
          kind: 'close',
          selector:
            event.session_id !== undefined
              ? { by: 'external', device, method: 'idp', externalId: event.session_id }
              : { by: 'ip', ip: event.source_ip, method: 'idp', device },
          eventTimeMs: nowMs,
          reason: 'logout',
        };
      }
      const groups = event.groups ?? [];
      const timeout = event.ttl_seconds !== undefined ? { type: 'hard' as const, seconds: event.ttl_seconds } : state.resolveTimeout('idp', groups);
      return {
        kind: 'open',
        input: {
          user: event.user,
          groups,
          ip: event.source_ip,
          device,
          method: 'idp',
          eventTimeMs: nowMs,
          timeoutType: timeout.type,
          timeoutSeconds: timeout.seconds,
          openedBy: event.idp !== undefined ? `idp:${event.idp}` : 'idp',
          ...(event.session_id !== undefined ? { externalId: event.session_id } : {}),
        },
      };
    });
    const results = await state.sessions.applyOps(ops, nowMs);
    let opened = 0;
    let closed = 0;
    const out = results.map((result, index) => {
      if (result.kind === 'open') {
        if (result.result.status === 'opened' || result.result.status === 'replaced') opened += 1;
        return { index, type: 'login', status: result.result.status, id: result.result.id, expires: new Date(result.result.expiresMs).toISOString() };
      }
      closed += result.closed.length;
      return { index, type: 'logout', closed: result.closed.map((s) => s.id) };
    });
    logger.info({ token: principal.name, events: ops.length, opened, closed }, 'identity events applied');
    sendJson(response, 200, { accepted: ops.length, opened, closed, results: out });
  };

  const routes: Readonly<Record<'readyz' | 'metrics' | 'sessions' | 'counter' | 'decision' | 'identityEvents', RouteHandler>> = {
    readyz,
    metrics,
    sessions,
    counter,
    decision,
    identityEvents,
  };
  return routes;
}
