/**
 * The worker's listeners by name, and how a reload changes them without a gap where it can avoid one:
 * a new or changed source is started before the old one is stopped (an unchanged source keeps its
 * sockets). Only when the new listener needs the very address the old one holds (same transport, same
 * HOST:PORT, port not 0) is the old one stopped first; if the new one then cannot bind, the old
 * settings are started again. A source that cannot bind is reported and the old state kept.
 */

import type { SourceSettings } from '../config/pipeline.js';
import type { NamedChanges } from '../config/diff.js';
import { FortistreamError, errorMessage } from '../errors.js';
import type { Source } from './contracts.js';

export interface SourceSetOptions {
  readonly create: (name: string, settings: SourceSettings) => Source;
  /** Called with every source that may emit (for back-pressure) whenever the set changes. */
  readonly onChange: (sources: readonly Source[]) => void;
}

export interface SourceReconcileResult {
  /** The settings of the sources now running (the old ones where a change was refused). */
  readonly running: Record<string, SourceSettings>;
  /** One line per refused part: `sources.NAME: why`. */
  readonly problems: string[];
}

export interface SourceSet {
  /** Opens every listener; rejects (after closing those already open) when one cannot bind. */
  start(): Promise<void>;
  stop(): Promise<void>;
  list(): Source[];
  /** Applies added/removed/changed sources; `previous` is what runs now. */
  reconcile(previous: Readonly<Record<string, SourceSettings>>, next: Readonly<Record<string, SourceSettings>>, changes: NamedChanges): Promise<SourceReconcileResult>;
}

/** Two listeners that cannot both bind: same transport and same fixed address. */
function bindKey(settings: SourceSettings): string | undefined {
  if (/:0$/.test(settings.address)) return undefined;
  return `${settings.mode === 'udp' ? 'udp' : 'tcp'} ${settings.address}`;
}

export function createSourceSet(initial: Readonly<Record<string, SourceSettings>>, options: SourceSetOptions): SourceSet {
  const sources = new Map<string, Source>();
  for (const [name, settings] of Object.entries(initial)) sources.set(name, options.create(name, settings));
  /** Sources being stopped by a reload: they still emit their last frames. */
  const leaving = new Set<Source>();
  let started = false;

  const publish = (): void => options.onChange([...sources.values(), ...leaving]);
  publish();

  const retire = async (source: Source): Promise<void> => {
    leaving.add(source);
    publish();
    try {
      await source.stop();
    } finally {
      leaving.delete(source);
      publish();
    }
  };

  /** Starts a fresh source (when the set runs); returns it, or the reason it could not listen. */
  const open = async (name: string, settings: SourceSettings): Promise<Source | string> => {
    let source: Source;
    try {
      source = options.create(name, settings);
    } catch (error) {
      return errorMessage(error);
    }
    if (!started) return source;
    try {
      await source.start();
      return source;
    } catch (error) {
      await source.stop().catch(() => undefined);
      return errorMessage(error);
    }
  };

  return {
    async start() {
      const opened: Source[] = [];
      for (const source of sources.values()) {
        try {
          await source.start();
          opened.push(source);
        } catch (error) {
          await Promise.allSettled(opened.map((s) => s.stop()));
          throw new FortistreamError('FST_LISTEN_FAILED', `source "${source.name}" cannot listen: ${errorMessage(error)}`, { cause: error });
        }
      }
      started = true;
    },

    async stop() {
      started = false;
      await Promise.allSettled([...sources.values(), ...leaving].map((s) => s.stop()));
    },

    list: () => [...sources.values()],

    async reconcile(previous, next, changes) {
      const running: Record<string, SourceSettings> = { ...previous };
      const problems: string[] = [];
      const toStop = new Set<string>([...changes.removed, ...changes.changed]);
      const stopped = new Set<string>();
      const stopping: Promise<void>[] = [];

      for (const name of [...changes.added, ...changes.changed]) {
        const settings = next[name] as SourceSettings;
        const key = bindKey(settings);
        // Old listeners (this name's or a removed one's) that hold the address the new one needs.
        const holders = key === undefined ? [] : [...toStop].filter((old) => !stopped.has(old) && previous[old] !== undefined && bindKey(previous[old]) === key);
        for (const holder of holders) {
          const source = sources.get(holder);
          sources.delete(holder);
          stopped.add(holder);
          if (source) await retire(source);
        }
        const opened = await open(name, settings);
        if (typeof opened === 'string') {
          problems.push(`sources.${name}: ${opened}`);
          // Stopped for nothing: the holders that were only changed come back with their old settings
          // (a removed holder stays removed).
          for (const holder of holders) {
            if (!changes.changed.includes(holder)) {
              delete running[holder];
              continue;
            }
            const again = await open(holder, previous[holder] as SourceSettings);
            if (typeof again === 'string') {
              problems.push(`sources.${holder}: its old settings could not listen again either: ${again}`);
              delete running[holder];
            } else {
              sources.set(holder, again);
              stopped.delete(holder);
            }
          }
          // A changed source that failed keeps running as it was, unless it gave up its address to another.
          toStop.delete(name);
          if (stopped.has(name)) delete running[name];
          publish();
          continue;
        }
        const old = stopped.has(name) ? undefined : sources.get(name);
        sources.set(name, opened);
        running[name] = settings;
        if (old) {
          stopped.add(name);
          stopping.push(retire(old));
        }
        publish();
      }
      for (const name of changes.removed) {
        delete running[name];
        if (stopped.has(name)) continue;
        const source = sources.get(name);
        sources.delete(name);
        stopped.add(name);
        if (source) stopping.push(retire(source));
      }
      publish();
      await Promise.allSettled(stopping);
      return { running, problems };
    },
  };
}
