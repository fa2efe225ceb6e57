/**
 * The pipeline the bench's worker runs: the user's (or a minimal one) with its sources replaced by one
 * TCP listener on 127.0.0.1:0 and a key prefix of its own, so it never touches the user's streams
 * and state, and without anything that reaches outside this machine or collides with a running worker.
 */
import { stringify } from 'yaml';
import type { PipelineFile } from '../config/pipeline.js';

/** Name of the bench's only source. */
export const BENCH_SOURCE = 'bench_tcp';

export interface BenchPipelineOptions {
  /** The user's validated pipeline (`--pipeline`); undefined: one TCP source, one redis_streams sink. */
  readonly base: Readonly<PipelineFile> | undefined;
  /** Unique key prefix, e.g. `fortistream-bench-1a2b3c4d:`. */
  readonly prefix: string;
  /** Events the bench sends: every sink's caps are raised to at least this, so each entry can be counted. */
  readonly events: number;
  /** Where the spool goes when the pipeline has one (never the user's spool folder: one worker per folder). */
  readonly spoolDir: string;
}

export interface BenchPipeline {
  /** YAML for `fortistream run --pipeline`. */
  readonly yaml: string;
  /** Full names of the measured sink's streams (the first sink). */
  readonly streams: { readonly events: string; readonly dead: string };
}

const SOURCE = { type: 'syslog', mode: 'tcp', address: '127.0.0.1:0' } as const;

/**
 * Builds the bench pipeline. Left out of the user's: `redis.url` (the bench passes --redis), `api` (its
 * port may be in use), `devices`, `actions`, `feeds` and counter actions (generated events must never
 * ban or deauthenticate anyone on a real FortiGate, nor call webhooks). Kept: parsing, sessions,
 * counters and alerts, profiles, sinks, batching and the spool (in `spoolDir`), which is what costs.
 */
export function buildBenchPipeline(options: BenchPipelineOptions): BenchPipeline {
  const { base, prefix, events } = options;
  let file: Record<string, unknown>;
  let firstSink: { stream: string; dead_letter_stream: string };
  if (base === undefined) {
    firstSink = { stream: 'events:soc', dead_letter_stream: 'dead' };
    file = {
      redis: { key_prefix: prefix },
      sources: { [BENCH_SOURCE]: SOURCE },
      sinks: { soc: { type: 'redis_streams', ...firstSink, max_len: Math.max(1_000_000, events) } },
    };
  } else {
    const { api: _api, devices: _devices, actions: _actions, feeds: _feeds, spool, redis, counters, sinks, ...rest } = base;
    const { url: _url, ...redisRest } = redis;
    const sinkEntries = Object.entries(sinks).map(([name, sink]) => [
      name,
      { ...sink, max_len: Math.max(sink.max_len, events), dead_letter_max_len: Math.max(sink.dead_letter_max_len, events) },
    ]);
    const first = Object.values(sinks)[0];
    if (first === undefined) throw new Error('a validated pipeline has at least one sink');
    firstSink = first;
    file = {
      ...rest,
      redis: { ...redisRest, key_prefix: prefix },
      ...(spool !== undefined ? { spool: { ...spool, dir: options.spoolDir } } : {}),
      ...(counters !== undefined ? { counters: counters.map(({ action: _action, ...counter }) => counter) } : {}),
      sources: { [BENCH_SOURCE]: SOURCE },
      sinks: Object.fromEntries(sinkEntries),
    };
  }
  return {
    yaml: stringify(keepLiteral(file)),
    streams: { events: prefix + firstSink.stream, dead: prefix + firstSink.dead_letter_stream },
  };
}

/** The pipeline was interpolated already: `${` left in a value must stay literal when the file is read again. */
function keepLiteral(value: unknown): unknown {
  // A function, not '$${': in a replacement string `$$` stands for one `$`.
  if (typeof value === 'string') return value.replaceAll('${', () => '$${');
  if (Array.isArray(value)) return value.map(keepLiteral);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, keepLiteral(item)]));
  }
  return value;
}
