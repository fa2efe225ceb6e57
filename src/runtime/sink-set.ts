/**
 * The worker's destinations: the `sinks:` streams, the profile sinks (with their keyrings) and the state
 * stage, and how a reload swaps them. A reload first builds everything new (`prepare`: a keyring that
 * cannot be opened rejects the reload before anything changed), then switches in one synchronous step
 * (`apply`), handing the pipeline the new sink list; sinks and keyrings that are no longer used are
 * closed once the pipeline has written every batch cut for them (`afterDrain`). An unchanged sink is
 * the same object before and after, so it keeps its connection and its entry-id counter.
 */

import type { Logger } from 'pino';
import type { PipelineDiff } from '../config/diff.js';
import type { PipelineFile } from '../config/pipeline.js';
import type { CompiledProfile } from '../sanitize/profiles.js';
import { createStateStage, type StateStage } from '../state/stage.js';
import { buildProfileSink, buildStreamSink, hasState, stateConfigOf, type ComponentEnv } from './components.js';
import type { Sink } from './contracts.js';
import { compileProfiles, createAlertProjection, keyringOrigin, openKeyrings, type KeyringHandle } from './profiles.js';
import type { AlertProjection } from '../state/stage.js';

interface ProfileEntry {
  readonly profile: CompiledProfile;
  readonly sink: Sink;
}

/** What a prepared reload switches to. */
export interface PreparedSinks {
  /** Switches (synchronously); returns the new sink list and what to close once the old batches are written. */
  apply(): { readonly sinks: readonly Sink[]; afterDrain(): Promise<void> };
  /** Drops what `prepare` built (the reload was abandoned). */
  discard(): Promise<void>;
}

export interface SinkSet {
  /** The sinks the pipeline writes to, in a stable order: streams, profiles, state. */
  list(): Sink[];
  /** The state stage while the pipeline declares sessions or counters. */
  readonly state: StateStage | undefined;
  profiles(): CompiledProfile[];
  prepare(next: Readonly<PipelineFile>, diff: PipelineDiff): Promise<PreparedSinks>;
  /** Re-reads every keyring file now (SIGHUP); a bad file keeps the keys in force (logged). */
  reloadKeyrings(): Promise<void>;
  /** Closes every sink and keyring (after the pipeline drained). */
  close(): Promise<void>;
}

/** The alert projections of the profiles that carry alerts (`alerts: true`). */
function alertProjectionsOf(profiles: ReadonlyMap<string, ProfileEntry>, keyrings: ReadonlyMap<string, KeyringHandle>): AlertProjection[] {
  const out: AlertProjection[] = [];
  for (const { profile } of profiles.values()) {
    const keyring = profile.keyring === undefined ? undefined : keyrings.get(keyringOrigin(profile.keyring));
    const projection = createAlertProjection(profile, keyring);
    if (projection !== undefined) out.push(projection);
  }
  return out;
}

export function createSinkSet(
  env: ComponentEnv,
  pipeline: Readonly<PipelineFile>,
  openedKeyrings: ReadonlyMap<string, KeyringHandle> | undefined,
): SinkSet {
  const prefix = pipeline.redis.key_prefix;
  const keyrings = new Map(openedKeyrings ?? []);
  const streams = new Map<string, Sink>();
  for (const [name, settings] of Object.entries(pipeline.sinks)) streams.set(name, buildStreamSink(env, prefix, name, settings));
  let profiles = new Map<string, ProfileEntry>();
  for (const profile of compileProfiles(pipeline)) {
    profiles.set(profile.name, { profile, sink: buildProfileSink(env, profile, keyrings, pipeline.pipeline.batch_max_events) });
  }
  // Created once and kept: batches for it are applied in order across reloads (one chain).
  let state: StateStage | undefined;
  let stateActive = false;
  const stateLogger: Logger = env.logger.child({ component: 'state' });
  const ensureState = (next: Readonly<PipelineFile>): StateStage => {
    state ??= createStateStage({
      redis: env.redis,
      ...stateConfigOf(next),
      alertProjections: alertProjectionsOf(profiles, keyrings),
      prefix,
      auditStream: prefix + next.audit.stream,
      auditMaxLen: next.audit.max_len,
      metrics: env.metrics.component('state', 'redis'),
      counters: env.metrics,
      logger: stateLogger,
      ...(env.stateWriter !== undefined ? { writer: env.stateWriter } : {}),
      ...(env.onActionAlerts !== undefined ? { onActionAlerts: env.onActionAlerts } : {}),
    });
    return state;
  };
  if (hasState(pipeline)) {
    ensureState(pipeline);
    stateActive = true;
  }

  const list = (): Sink[] => [
    ...streams.values(),
    ...[...profiles.values()].map((entry) => entry.sink),
    ...(stateActive && state ? [state] : []),
  ];

  return {
    list,
    get state() {
      return stateActive ? state : undefined;
    },
    profiles: () => [...profiles.values()].map((entry) => entry.profile),

    async prepare(next, diff) {
      const built: Sink[] = [];
      const openedNow = new Map<string, KeyringHandle>();
      try {
        // Keyrings the new profiles name that are not open yet (a bad one rejects the reload).
        const wanted: PipelineFile['profiles'] = {};
        for (const [name, settings] of Object.entries(next.profiles)) {
          if (settings.keyring !== undefined && !keyrings.has(keyringOrigin(settings.keyring))) wanted[name] = settings;
        }
        if (Object.keys(wanted).length > 0) {
          for (const [origin, handle] of await openKeyrings(wanted, env.logger.child({ component: 'keyring' }))) openedNow.set(origin, handle);
        }
        const allKeyrings = new Map([...keyrings, ...openedNow]);
        const nextStreams = new Map<string, Sink>();
        for (const [name, settings] of Object.entries(next.sinks)) {
          const kept = diff.parts.sinks.changed.includes(name) ? undefined : streams.get(name);
          const sink = kept ?? buildStreamSink(env, prefix, name, settings);
          if (!kept) built.push(sink);
          nextStreams.set(name, sink);
        }
        const nextProfiles = new Map<string, ProfileEntry>();
        for (const profile of compileProfiles(next)) {
          const kept = diff.parts.profiles.changed.includes(profile.name) ? undefined : profiles.get(profile.name);
          const entry = kept ?? { profile, sink: buildProfileSink(env, profile, allKeyrings, next.pipeline.batch_max_events) };
          if (!kept) built.push(entry.sink);
          nextProfiles.set(profile.name, entry);
        }
        const stateConfig = hasState(next) ? { ...stateConfigOf(next), alertProjections: alertProjectionsOf(nextProfiles, allKeyrings) } : undefined;

        return {
          apply() {
            const before = list();
            streams.clear();
            for (const [name, sink] of nextStreams) streams.set(name, sink);
            profiles = nextProfiles;
            for (const [origin, handle] of openedNow) keyrings.set(origin, handle);
            if (stateConfig !== undefined) {
              // New rules from the next batch on; batches already open keep the rules they were encoded with.
              if (state) state.reconfigure(stateConfig);
              else ensureState(next);
              stateActive = true;
            } else {
              stateActive = false;
            }
            const sinks = list();
            const retired = before.filter((sink) => !sinks.includes(sink) && sink !== state);
            const used = new Set([...profiles.values()].flatMap(({ profile }) => (profile.keyring ? [keyringOrigin(profile.keyring)] : [])));
            const unusedKeyrings = [...keyrings].filter(([origin]) => !used.has(origin));
            for (const [origin] of unusedKeyrings) keyrings.delete(origin);
            return {
              sinks,
              async afterDrain() {
                await Promise.allSettled(retired.map((sink) => sink.close()));
                for (const [, handle] of unusedKeyrings) handle.close();
              },
            };
          },
          async discard() {
            await Promise.allSettled(built.map((sink) => sink.close()));
            for (const handle of openedNow.values()) handle.close();
          },
        };
      } catch (error) {
        await Promise.allSettled(built.map((sink) => sink.close()));
        for (const handle of openedNow.values()) handle.close();
        throw error;
      }
    },

    async reloadKeyrings() {
      await Promise.all([...keyrings.values()].map((keyring) => keyring.reload()));
    },

    async close() {
      await Promise.allSettled(list().concat(state && !stateActive ? [state] : []).map((sink) => sink.close()));
      for (const handle of keyrings.values()) handle.close();
    },
  };
}
