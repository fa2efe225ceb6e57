/** `GET /readyz` (no auth) and `GET /metrics` (read): what load balancers and Prometheus poll. */

import { readFile } from 'node:fs/promises';
import { errorMessage } from '../../errors.js';
import { authorize, methodNotAllowed, sendJson } from '../http.js';
import type { OpsDeps, OpsOptions, RouteHandler } from './contracts.js';
import type { StateView } from './state-view.js';

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

export function createMonitoringRoutes(
  deps: OpsDeps,
  options: OpsOptions,
  stateView: () => StateView,
): { readonly readyz: RouteHandler; readonly metrics: RouteHandler } {
  const { redis, tokens, logger } = deps;
  const { worker } = options;
  const pingTimeoutMs = options.pingTimeoutMs ?? 250;
  const procFiles = options.procNetUdp ?? ['/proc/net/udp', '/proc/net/udp6'];

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

  return { readyz, metrics };
}
