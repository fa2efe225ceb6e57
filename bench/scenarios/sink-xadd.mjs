// sink-xadd: the Redis Streams sink alone. 200k realistic events (lines from the FortiGate load
// generator, parsed by the real parser: ~61 fields, ~2 KB each) written through createRedisStreamsSink
// in batches of 1000 with 4 batches in flight, into a private redis-server. Measures every write
// strategy (events/s, Node CPU µs/event, Redis CPU µs/event); the last stdout line is the default one
// (what the worker uses) with the others under `variants`.
//
//   node bench/scenarios/sink-xadd.mjs [--events N] [--batch N] [--in-flight N]
//        [--variants resp,resp_trim_last,lua_packed,lua,pipeline] [--repeat N]
//        [--redis-args "--stream-node-max-bytes 65536"]
//
// Variants: a strategy name, or `resp_trim_last` (resp with MAXLEN ~ only on the last XADD of a batch).
// Needs a build (npm run bench does it): imports ../../dist/src/….
import { cpSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { pino } from 'pino';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { createGenerator } = await import(pathToFileURL(join(ROOT, '..', 'shared', 'bench', 'fgt-loadgen.mjs')).href);
// tsc does not copy the .lua files; copy them if the build step did not (scripts/copy-assets.mjs should).
if (!existsSync(join(ROOT, 'dist/src/sinks/lua')) && existsSync(join(ROOT, 'src/sinks/lua'))) {
  cpSync(join(ROOT, 'src/sinks/lua'), join(ROOT, 'dist/src/sinks/lua'), { recursive: true });
}
const dist = (path) => pathToFileURL(join(ROOT, 'dist', 'src', path)).href;
const { startPrivateRedis } = await import(dist('runtime/redis-server.js'));
const { createRedisStreamsSink, redisStreamsSinkSchema } = await import(dist('sinks/redis-streams.js'));
const { parseFrame } = await import(dist('parse/index.js'));

const { values: argv } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    batch: { type: 'string', default: '1000' },
    'in-flight': { type: 'string', default: '4' },
    variants: { type: 'string', default: 'resp,resp_trim_last,lua_packed,lua,pipeline' },
    'strings-per-call': { type: 'string', default: '' },
    repeat: { type: 'string', default: '1' },
    'redis-args': { type: 'string', default: '' },
  },
});
const totalEvents = Number(argv.events);
const batchSize = Number(argv.batch);
const inFlight = Number(argv['in-flight']);
const repeat = Number(argv.repeat);
const variants = argv.variants.split(',').filter(Boolean);
const stringsPerCall = argv['strings-per-call'] ? argv['strings-per-call'].split(',').map(Number) : [undefined];
const redisArgs = argv['redis-args'].split(' ').filter(Boolean);
const DEFAULT_VARIANT = 'resp';

/**
 * `count` events cycling through `distinct` parsed ones: holding 200k events (12M strings) alive
 * would make the benchmark measure V8's old-generation GC rather than the sink.
 */
function buildEvents(count, seed, distinct = 20_000) {
  const generator = createGenerator({ seed });
  const unique = [];
  let strings = 0;
  let bytes = 0;
  const receivedAtMs = Date.UTC(2026, 11, 4, 19, 23, 1);
  while (unique.length < Math.min(count, distinct)) {
    const line = generator.next();
    const result = parseFrame(Buffer.from(line), { source: 'syslog_tcp', peer: '10.0.0.1:514', receivedAtMs });
    if (!result.ok) continue;
    unique.push(result.event);
    strings += result.event.fields.length;
    for (const s of result.event.fields) bytes += Buffer.byteLength(s);
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

const server = await startPrivateRedis({ extraArgs: redisArgs });
const logger = pino({ level: 'warn' }, process.stderr);
try {
  const { events, fieldsPerEvent, bytesPerEvent } = buildEvents(totalEvents, 1);
  const warmup = buildEvents(20_000, 2).events;
  const results = [];
  for (let round = 0; round < repeat; round += 1) {
    for (const variant of variants) {
      for (const maxStrings of stringsPerCall) {
        const strategy = variant.startsWith('resp') ? 'resp' : variant;
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
          strategy,
          url: server.url,
          ...(variant === 'resp_trim_last' ? { respTrim: 'last' } : {}),
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
          node_us_per_event: Math.round(((nodeCpu.user + nodeCpu.system) / totalEvents) * 100) / 100,
          redis_us_per_event: Math.round(((redisCpu * 1e6) / totalEvents) * 100) / 100,
          stream_length: length,
        };
        process.stderr.write(`${JSON.stringify(result)}\n`);
        results.push(result);
      }
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
      redis_args: redisArgs.join(' '),
      fields_per_event: Math.round(fieldsPerEvent * 10) / 10,
      bytes_per_event: Math.round(bytesPerEvent),
      variants: results,
    }),
  );
} finally {
  await server.stop();
}
