/** `POST /v1/identity/events` (write): logins and logouts from an identity provider, applied as one batch. */

import { z } from 'zod';
import type { SessionChange } from '../../state/sessions.js';
import { authorize, BodyError, methodNotAllowed, problem, readBody, sendJson } from '../http.js';
import type { OpsDeps, OpsOptions, RouteHandler } from './contracts.js';
import { MAX_USER } from './sessions.js';
import { noState, type StateView } from './state-view.js';

const NAME = /^[A-Za-z0-9_.:@-]{1,64}$/;

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

export function createIdentityEventsRoute(deps: OpsDeps, options: OpsOptions, stateView: () => StateView): RouteHandler {
  const { tokens, logger } = deps;
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  const batchSchema = identityBatchSchema(options.maxIdentityEvents ?? 1000);

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

  return identityEvents;
}
