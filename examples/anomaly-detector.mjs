// A tiny anomaly detector on the `ml` stream: failed logins per pseudonymized source address per
// minute, scored against that source's own rolling baseline; prints one JSON alert line when z > 3.
//
//   REDIS_URL=redis://127.0.0.1:6379 node examples/anomaly-detector.mjs
//
// Environment: STREAM (default fortistream:events:ml), GROUP (default anomaly-detector),
// CONSUMER (default <host>-<pid>), START_ID (where a new group starts: `$` = new events only,
// `0` = the whole stream), Z_THRESHOLD (3), BASELINE_MINUTES (60), MIN_BASELINE_MINUTES (5).
// Build first: npm run build.
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { createStreamConsumer } from '../dist/src/client/index.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const stream = process.env.STREAM ?? 'fortistream:events:ml';
const group = process.env.GROUP ?? 'anomaly-detector';
const consumerName = process.env.CONSUMER ?? `${hostname()}-${process.pid}`;
const zThreshold = Number(process.env.Z_THRESHOLD ?? 3);
const baselineMinutes = Number(process.env.BASELINE_MINUTES ?? 60);
const minBaselineMinutes = Number(process.env.MIN_BASELINE_MINUTES ?? 5);
/** Below this spread a baseline is "flat"; flooring it keeps one extra failure from scoring z = ∞. */
const MIN_STD = 1;

/**
 * Per source pseudonym: failures in the current minute, the counts of the minutes before (newest
 * last, zeros included), and whether this minute already alerted.
 */
const sources = new Map();
let currentMinute;

/** Delivery is at-least-once: remember recent entry ids so a redelivered entry is not counted twice. */
const recentIds = new Set();
function firstTime(id) {
  if (recentIds.has(id)) return false;
  recentIds.add(id);
  if (recentIds.size > 100_000) recentIds.delete(recentIds.values().next().value);
  return true;
}

function meanAndStd(values) {
  const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
  const variance = values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / values.length;
  return { mean, std: Math.sqrt(variance) };
}

/** Closes every minute before `minute`: each tracked source's count joins its history. */
function advanceTo(minute) {
  if (currentMinute === undefined) {
    currentMinute = minute;
    return;
  }
  for (; currentMinute < minute; currentMinute += 1) {
    for (const [pseudonym, state] of sources) {
      state.history.push(state.count);
      if (state.history.length > baselineMinutes) state.history.shift();
      state.count = 0;
      state.alerted = false;
      // Forget sources that stayed quiet for the whole baseline.
      if (state.history.length === baselineMinutes && state.history.every((v) => v === 0)) sources.delete(pseudonym);
    }
    // A long gap (a replay jumping hours ahead) needs no more than a baseline of empty minutes.
    if (minute - currentMinute > baselineMinutes) currentMinute = minute - baselineMinutes;
  }
}

function onFailedLogin(pseudonym, minute) {
  let state = sources.get(pseudonym);
  if (state === undefined) {
    state = { count: 0, history: [], alerted: false };
    sources.set(pseudonym, state);
  }
  state.count += 1;
  if (state.alerted || state.history.length < minBaselineMinutes) return;
  const { mean, std } = meanAndStd(state.history);
  const z = (state.count - mean) / Math.max(std, MIN_STD);
  if (z > zThreshold) {
    state.alerted = true;
    // JSON.stringify escapes control characters, so a hostile value cannot drive the terminal.
    console.log(
      JSON.stringify({
        alert: 'failed_logins_spike',
        'source.ip.pseudonym': pseudonym,
        minute: new Date(minute * 60_000).toISOString(),
        failures: state.count,
        baseline_mean: Number(mean.toFixed(3)),
        baseline_std: Number(std.toFixed(3)),
        baseline_minutes: state.history.length,
        z: Number(z.toFixed(2)),
      }),
    );
  }
}

const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
redis.on('error', (error) => console.error(`redis: ${error.message}`));

const consumer = createStreamConsumer({
  redis,
  stream,
  group,
  consumer: consumerName,
  startId: process.env.START_ID ?? '$',
  handler: ({ id, fields }) => {
    if (!firstTime(id)) return;
    if (fields['event.category'] !== 'authentication' || fields['event.outcome'] !== 'failure') return;
    const pseudonym = fields['source.ip.pseudonym'];
    const time = Date.parse(fields['@timestamp'] ?? '');
    if (!pseudonym || Number.isNaN(time)) return;
    const minute = Math.floor(time / 60_000);
    if (currentMinute !== undefined && minute < currentMinute) return; // late event: its minute is closed
    advanceTo(minute);
    onFailedLogin(pseudonym, minute);
  },
});

async function shutdown() {
  await consumer.stop();
  await redis.quit();
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);

await consumer.start();
console.error(`anomaly-detector: reading ${stream} as ${group}/${consumerName}; Ctrl-C to stop`);
