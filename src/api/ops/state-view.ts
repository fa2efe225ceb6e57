/** The readers the state routes share, derived from `options.state` and rebuilt after a pipeline reload. */

import type { ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import { createCounterStore, type CounterStore } from '../../state/counters.js';
import { createSessionReader, type SessionReader } from '../../state/session-reader.js';
import { problem } from '../http.js';
import type { ApiCounter, ApiState, OpsOptions } from './contracts.js';

/** What the routes derive from `options.state`, rebuilt when a pipeline reload replaced it. */
export interface StateView {
  readonly state: ApiState | undefined;
  readonly layout: ApiState['sessions']['layout'] | undefined;
  readonly reader: SessionReader | undefined;
  readonly counterStore: CounterStore | undefined;
  readonly countersByName: ReadonlyMap<string, ApiCounter>;
  readonly ipCounters: readonly ApiCounter[];
}

/** Returns the current view; `options.state` is read on every call (it may be a getter). */
export function createStateView(redis: Redis, options: OpsOptions): () => StateView {
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
  return stateView;
}

export const noState = (response: ServerResponse): void =>
  problem(response, 404, 'not_configured', 'the pipeline declares no sessions or counters');
