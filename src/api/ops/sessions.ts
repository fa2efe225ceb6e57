/** `GET|DELETE /v1/sessions` (read|write): the sessions of an address or a user, and their revocation. */

import type { ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Session } from '../../state/session-model.js';
import { revokeSessions } from '../../actions/revoke.js';
import { createDeviceResolver } from '../../actions/device-resolver.js';
import { authorize, methodNotAllowed, problem, sendJson } from '../http.js';
import type { OpsDeps, OpsOptions, RouteHandler } from './contracts.js';
import { noState, type StateView } from './state-view.js';

const NO_DEVICES = createDeviceResolver({});

/** Longest user name a request may carry (a query selector, an identity event). */
export const MAX_USER = 256;

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

export function createSessionsRoute(deps: OpsDeps, options: OpsOptions, stateView: () => StateView): RouteHandler {
  const { tokens, logger } = deps;

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

  return sessions;
}
