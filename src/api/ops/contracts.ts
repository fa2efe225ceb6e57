/** What the operations routes are given: the worker's view, live state, limits, and the route type. */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { CounterSpec } from '../../state/counters.js';
import type { SessionMethod, TimeoutType } from '../../state/session-model.js';
import type { SessionStore } from '../../state/sessions.js';
import type { TokenStore } from '../tokens.js';
import type { RevokeDependencies } from '../../actions/revoke.js';

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

export interface OpsDeps {
  readonly redis: Redis;
  readonly tokens: TokenStore;
  readonly logger: Logger;
}

export type RouteHandler = (request: IncomingMessage, response: ServerResponse, url: URL, params: readonly string[]) => Promise<void>;
