/**
 * `GET /v1/counters/:name` (read): one sliding-window counter; `GET /v1/decision` (read): the fast
 * path "who is this address, and is it over a threshold?".
 */

import { isIP } from 'node:net';
import { authorize, methodNotAllowed, problem, sendJson } from '../http.js';
import type { OpsDeps, RouteHandler } from './contracts.js';
import { noState, type StateView } from './state-view.js';

export function createCounterRoutes(deps: OpsDeps, stateView: () => StateView): { readonly counter: RouteHandler; readonly decision: RouteHandler } {
  const { tokens } = deps;

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

  return { counter, decision };
}
