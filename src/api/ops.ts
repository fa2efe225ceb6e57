/**
 * The operations routes of the HTTP API (see app.ts for the routing and README "Operations API"):
 * readiness, Prometheus metrics, sessions (read, revoke), counters, the decision fast path and
 * identity events from an identity provider. Each group of routes lives in ops/.
 */

import type { OpsDeps, OpsOptions, RouteHandler } from './ops/contracts.js';
import { createCounterRoutes } from './ops/counters.js';
import { createIdentityEventsRoute } from './ops/identity.js';
import { createMonitoringRoutes } from './ops/monitoring.js';
import { createSessionsRoute } from './ops/sessions.js';
import { createStateView } from './ops/state-view.js';

export type { ApiCounter, ApiState, ApiWorkerView, OpsOptions, RouteHandler } from './ops/contracts.js';
export { parseProcNetUdp } from './ops/monitoring.js';

export function createOpsRoutes(deps: OpsDeps, options: OpsOptions) {
  const stateView = createStateView(deps.redis, options);
  const { readyz, metrics } = createMonitoringRoutes(deps, options, stateView);
  const { counter, decision } = createCounterRoutes(deps, stateView);
  const routes: Readonly<Record<'readyz' | 'metrics' | 'sessions' | 'counter' | 'decision' | 'identityEvents', RouteHandler>> = {
    readyz,
    metrics,
    sessions: createSessionsRoute(deps, options, stateView),
    counter,
    decision,
    identityEvents: createIdentityEventsRoute(deps, options, stateView),
  };
  return routes;
}
