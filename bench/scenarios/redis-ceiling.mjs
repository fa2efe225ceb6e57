// redis-ceiling: how many of the worker's XADDs a private Redis can take per second on this machine
// when the client costs (almost) nothing: the upper bound of any end-to-end ingest rate, whatever
// the worker does. The loadgen's lines (seed 7, as e2e-tcp) are parsed by the real parser and
// encoded by the real encoder with explicit ids (MAXLEN ~ on every 64th entry, as the sink sends
// them), all before the clock starts; then one raw connection writes them in trips of 1,000 with
// up to 4 trips in flight (what the worker does at most). Measures events/s, Redis CPU µs per
// event and how busy Redis was (≈ 1.0 means Redis, not the client, set the pace).
//
// Also measures the same events with fewer fields (the worker's derived and constant fields left
// out) and as one JSON field, to show what the entry's shape costs Redis.
//
//   node bench/scenarios/redis-ceiling.mjs [--events N] [--repeat N]
// Prints one JSON line (the last): the full entry's figures at the top level, the others under
// `shapes`.
import net from 'node:net';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, cpuMicros } from '../lib/worker.mjs';

const dist = (path) => import(pathToFileURL(join(ROOT, 'dist', 'src', path)).href);
const { parseFrame } = await dist('parse/index.js');
const { XaddEncoder, EncodedBatch } = await dist('sinks/resp/encode.js');
const { startPrivateRedis } = await dist('runtime/redis-server.js');
const { createGenerator } = await import(pathToFileURL(join(ROOT, '..', 'shared', 'bench', 'fgt-loadgen.mjs')).href);

const { values: argv } = parseArgs({
  options: { events: { type: 'string', default: '200000' }, repeat: { type: 'string', default: '2' } },
});
const COUNT = Number(argv.events);
const REPEAT = Number(argv.repeat);
const TRIP = 1000;
const IN_FLIGHT = 4;

// Fields the worker derives from others or that are the same in every FortiGate event.
const DERIVED = new Set([
  'observer.vendor',
  'observer.product',
  'observer.type',
  'log.syslog.facility.code',
  'log.syslog.severity.code',
  'network.bytes',
  'network.packets',
  'event.kind',
]);

const generator = createGenerator({ seed: 7 });
const origin = { source: 'tcp_in', peer: '127.0.0.1:50000', receivedAtMs: Date.UTC(2026, 11, 4, 19, 23, 1) };
const events = [];
while (events.length < COUNT) {
  const result = parseFrame(Buffer.from(generator.next()), origin);
  if (result.ok) events.push(result.event.fields);
}

const shapes = {
  full: (fields) => fields,
  without_derived: (fields) => {
    const out = [];
    for (let i = 0; i < fields.length; i += 2) if (!DERIVED.has(fields[i])) out.push(fields[i], fields[i + 1]);
    return out;
  },
  one_json_field: (fields) => {
    const object = {};
    for (let i = 0; i < fields.length; i += 2) object[fields[i]] = fields[i + 1];
    return ['event', JSON.stringify(object)];
  },
};

/** Every shape's trips, encoded up front: the timed part only moves bytes. */
function encodeTrips(shape, key) {
  const encoder = new XaddEncoder();
  const prelude = encoder.prelude({ key, maxLen: COUNT * 2, trim: 'each' });
  const trips = [];
  let fieldPairs = 0;
  for (let from = 0; from < events.length; from += TRIP) {
    const out = new EncodedBatch(Buffer.allocUnsafe(4 << 20));
    const end = Math.min(from + TRIP, events.length);
    for (let i = from; i < end; i += 1) {
      const fields = shape(events[i]);
      fieldPairs += fields.length / 2;
      encoder.appendEntry(out, prelude, fields, `1-${i + 1}`, i - from, i === end - 1);
    }
    trips.push({ bytes: Buffer.from(out.bytes()), count: end - from });
  }
  return { trips, fieldsPerEvent: fieldPairs / events.length };
}

/** Writes the trips with up to IN_FLIGHT unanswered; resolves when every reply arrived. */
function pump(socket, trips) {
  return new Promise((resolve, reject) => {
    let next = 0;
    let repliesWanted = 0;
    let repliesSeen = 0;
    let errors = 0;
    let firstError = '';
    const tripEnds = [];
    let pending = '';
    const send = () => {
      while (next < trips.length && tripEnds.length < IN_FLIGHT) {
        const trip = trips[next];
        next += 1;
        repliesWanted += trip.count;
        tripEnds.push(repliesWanted);
        socket.write(trip.bytes);
      }
    };
    socket.on('data', (chunk) => {
      // Replies are `$<n>\r\n<id>\r\n` or `-ERR …\r\n`: count the lines that start one.
      const text = pending + chunk.toString('latin1');
      let at = 0;
      for (;;) {
        const nl = text.indexOf('\r\n', at);
        if (nl < 0) break;
        const kind = text.charCodeAt(at);
        if (kind === 36 /* $ */) {
          const end = text.indexOf('\r\n', nl + 2);
          if (end < 0) break;
          repliesSeen += 1;
          at = end + 2;
        } else {
          if (kind === 45 /* - */) {
            errors += 1;
            firstError ||= text.slice(at, nl);
          }
          repliesSeen += 1;
          at = nl + 2;
        }
      }
      pending = text.slice(at);
      while (tripEnds.length > 0 && repliesSeen >= tripEnds[0]) tripEnds.shift();
      if (repliesSeen >= repliesWanted && next >= trips.length) resolve({ errors, firstError });
      else send();
    });
    socket.once('error', reject);
    send();
  });
}

const server = await startPrivateRedis();
const results = {};
try {
  for (let round = 0; round < REPEAT; round += 1) {
    for (const [name, shape] of Object.entries(shapes)) {
      const key = `bench:ceiling:${name}:${round}`;
      const { trips, fieldsPerEvent } = encodeTrips(shape, key);
      const socket = net.connect(server.port, '127.0.0.1');
      await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      socket.setNoDelay(true);
      const cpuBefore = cpuMicros(server.pid);
      const started = performance.now();
      const { errors, firstError } = await pump(socket, trips);
      const seconds = (performance.now() - started) / 1000;
      const redisMicros = cpuMicros(server.pid) - cpuBefore;
      socket.destroy();
      if (errors > 0) throw new Error(`${errors} error replies, first: ${firstError}`);
      const row = {
        events_per_s: Math.round(COUNT / seconds),
        redis_cpu_us_per_event: +(redisMicros / COUNT).toFixed(2),
        redis_busy: +(redisMicros / 1e6 / seconds).toFixed(2),
        fields_per_event: +fieldsPerEvent.toFixed(1),
        bytes_per_event: Math.round(trips.reduce((sum, trip) => sum + trip.bytes.length, 0) / COUNT),
      };
      // Keep each shape's best round: the machine is shared, the ceiling is what Redis can do.
      if (!results[name] || row.events_per_s > results[name].events_per_s) results[name] = row;
      process.stderr.write(`redis-ceiling: ${name} round ${round + 1}: ${JSON.stringify(row)}\n`);
      const cleanup = net.connect(server.port, '127.0.0.1');
      await new Promise((resolve) => cleanup.once('connect', resolve));
      cleanup.end(`*2\r\n$3\r\nDEL\r\n$${key.length}\r\n${key}\r\n`);
    }
  }
} finally {
  await server.stop();
}
const { full, ...others } = results;
console.log(JSON.stringify({ events: COUNT, ...full, shapes: others }));
