// sink-xadd: the Redis Streams sink alone. 200k realistic events (~40 fields each, from the FortiGate
// load generator) written through createRedisStreamsSink in batches of 1000 with 4 batches in flight,
// into a private redis-server. Measures every write strategy; the last stdout line is the default one
// (what the worker uses) with the others under `variants`.
//
//   node bench/scenarios/sink-xadd.mjs [--events N] [--batch N] [--in-flight N] [--variants lua,pipeline,…]
//
// Needs a build (npm run bench does it): imports ../../dist/src/….
import { cpSync, existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createGenerator } from '../../../shared/bench/fgt-loadgen.mjs';

const root = new URL('../../', import.meta.url);
// tsc does not copy the .lua files; copy them if the build step did not (scripts/copy-assets.mjs should).
if (!existsSync(new URL('dist/src/sinks/lua', root)) && existsSync(new URL('src/sinks/lua', root))) {
  cpSync(new URL('src/sinks/lua', root), new URL('dist/src/sinks/lua', root), { recursive: true });
}
const { startPrivateRedis } = await import('../../dist/src/runtime/redis-server.js');
const { createRedisStreamsSink, redisStreamsSinkSchema } = await import('../../dist/src/sinks/redis-streams.js');

const { values: argv } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    batch: { type: 'string', default: '1000' },
    'in-flight': { type: 'string', default: '4' },
    variants: { type: 'string', default: 'lua_packed,lua,pipeline' },
    'strings-per-call': { type: 'string', default: '' },
  },
});
const totalEvents = Number(argv.events);
const batchSize = Number(argv.batch);
const inFlight = Number(argv['in-flight']);
const variants = argv.variants.split(',').filter(Boolean);
const stringsPerCall = argv['strings-per-call'] ? argv['strings-per-call'].split(',').map(Number) : [undefined];
const DEFAULT_VARIANT = 'lua_packed';

/** A naive FortiGate key=value split into ECS-ish fields: enough to give the sink realistic entries. */
function lineToEvent(line, index) {
  const fields = [];
  const close = line.indexOf('>');
  let i = close >= 0 ? close + 1 : 0;
  while (i < line.length) {
    const eq = line.indexOf('=', i);
    if (eq < 0) break;
    const key = line.slice(i, eq);
    let value;
    if (line[eq + 1] === '"') {
      let end = eq + 2;
      while (end < line.length && !(line[end] === '"' && line[end - 1] !== '\\')) end += 1;
      value = line.slice(eq + 2, end);
      i = end + 2;
    } else {
      const end = line.indexOf(' ', eq);
      value = line.slice(eq + 1, end < 0 ? line.length : end);
      i = end < 0 ? line.length : end + 1;
    }
    fields.push(`fortinet.firewall.${key}`, value);
  }
  const timeMs = Date.UTC(2026, 11, 4, 19, 23, 1) + index;
  fields.push(
    '@timestamp', new Date(timeMs).toISOString(),
    'event.module', 'fortinet',
    'event.dataset', 'fortinet.firewall',
    'observer.vendor', 'Fortinet',
    'observer.product', 'FortiGate',
    'fortistream.source', 'syslog_tcp',
    'log.source.address', `10.0.0.${index % 250}:514`,
  );
  return { fields, timeMs };
}

/**
 * `count` events cycling through `distinct` generated ones: holding 200k events (11M strings) alive
 * would make the benchmark measure V8's old-generation GC rather than the sink.
 */
function buildEvents(count, seed, distinct = 20_000) {
  const generator = createGenerator({ seed });
  const unique = [];
  let strings = 0;
  let bytes = 0;
  for (let i = 0; i < Math.min(count, distinct); i += 1) {
    const event = lineToEvent(generator.next(), i);
    unique.push(event);
    strings += event.fields.length;
    for (const s of event.fields) bytes += Buffer.byteLength(s);
  }
  const events = Array.from({ length: count }, (_, i) => unique[i % unique.length]);
  return { events, fieldsPerEvent: strings / 2 / unique.length, bytesPerEvent: bytes / unique.length };
}

async function redisCpuSeconds(redis) {
  const info = await redis.info('cpu');
  return (
    Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0)
  );
}

const noopMetrics = {
  receivedEvents() {},
  receivedBytes() {},
  sentEvents() {},
  sentBytes() {},
  dropped() {},
  error() {},
};

/** Writes `events` through `sink`, `batchSize` per write, at most `inFlight` writes pending. */
async function pump(sink, events) {
  let next = 0;
  async function lane() {
    while (next < events.length) {
      const from = next;
      next += batchSize;
      await sink.write({ events: events.slice(from, from + batchSize), dead: [] });
    }
  }
  await Promise.all(Array.from({ length: inFlight }, lane));
}

const server = await startPrivateRedis();
const logger = pino({ level: 'warn' }, process.stderr);
try {
  const { events, fieldsPerEvent, bytesPerEvent } = buildEvents(totalEvents, 1);
  const warmup = buildEvents(20_000, 2).events;
  const results = [];
  for (const variant of variants) {
    for (const maxStrings of stringsPerCall) {
      const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
      const stream = `bench:sink:${variant}:${maxStrings ?? 'default'}`;
      const settings = redisStreamsSinkSchema.parse({
        type: 'redis_streams',
        stream,
        max_len: 100_000,
        dead_letter_stream: `${stream}:dead`,
        batch_max_events: batchSize,
      });
      const sink = createRedisStreamsSink({
        name: `bench-${variant}`,
        redis,
        settings,
        metrics: noopMetrics,
        logger,
        strategy: variant,
        ...(maxStrings ? { maxStringsPerCall: maxStrings } : {}),
      });
      await pump(sink, warmup);
      await redis.del(stream);
      globalThis.gc?.();
      const cpuBefore = await redisCpuSeconds(redis);
      const nodeCpuBefore = process.cpuUsage();
      const started = process.hrtime.bigint();
      await pump(sink, events);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const nodeCpu = process.cpuUsage(nodeCpuBefore);
      const redisCpu = (await redisCpuSeconds(redis)) - cpuBefore;
      const length = await redis.xlen(stream);
      await redis.del(stream);
      await sink.close();
      await redis.quit();
      const result = {
        variant,
        ...(maxStrings ? { strings_per_call: maxStrings } : {}),
        events_per_s: Math.round(totalEvents / seconds),
        mb_per_s: Math.round((totalEvents * bytesPerEvent) / seconds / 1e5) / 10,
        seconds: Math.round(seconds * 1000) / 1000,
        node_cpu_s: Math.round((nodeCpu.user + nodeCpu.system) / 1e4) / 100,
        redis_cpu_s: Math.round(redisCpu * 100) / 100,
        stream_length: length,
      };
      process.stderr.write(`${JSON.stringify(result)}\n`);
      results.push(result);
    }
  }
  const main = results.find((r) => r.variant === DEFAULT_VARIANT) ?? results[0];
  console.log(
    JSON.stringify({
      events_per_s: main.events_per_s,
      variant: main.variant,
      batch: batchSize,
      in_flight: inFlight,
      events: totalEvents,
      fields_per_event: Math.round(fieldsPerEvent * 10) / 10,
      bytes_per_event: Math.round(bytesPerEvent),
      variants: results,
    }),
  );
} finally {
  await server.stop();
}
