// State layer alone, on the loadgen's mix: 200,000 lines parsed and run through the default rules
// beforehand, then each batch of 1,000 applied as the state stage does (session ops in order,
// refreshes, counter updates) against a private Redis. Nothing else touches that Redis, so its
// CPU (INFO cpu, user + sys) divided by the events is the state scripts' cost per event — the
// figure that decides whether the state stage makes the pipeline Redis-bound. Wall time is not
// reported as the headline: the machine is shared. Set BENCH_COMMANDSTATS=1 for the top commands.
// Prints one JSON line.
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { parse as parseYaml } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const dist = (path) => import(pathToFileURL(resolve(here, '../../dist/src', path)).href);
const { parseFrame } = await dist('parse/index.js');
const { compileRules } = await dist('state/rules.js');
const { sessionsSettingsSchema, countersSettingsSchema } = await dist('state/rules-schema.js');
const { DEFAULT_SESSIONS_YAML, DEFAULT_COUNTERS_YAML } = await dist('state/rules-defaults.js');
const { startPrivateRedis } = await dist('runtime/redis-server.js');
const { createSessionStore } = await dist('state/sessions.js');
const { createCounterStore } = await dist('state/counters.js');
const { createGenerator } = await import(pathToFileURL(resolve(here, '../../../shared/bench/fgt-loadgen.mjs')).href);

const COUNT = Number(process.env.BENCH_REPLAY_EVENTS ?? 200_000);
// 'sessions' or 'counters' applies only that half (to see which costs what); default both.
const ONLY = process.env.BENCH_REPLAY_ONLY ?? '';
const BATCH = 1000;
const startMs = Date.now();
const generator = createGenerator({ seed: 11, startMs });
const origin = { source: 'bench', peer: '127.0.0.1:514', receivedAtMs: startMs };
const events = [];
for (let i = 0; i < COUNT; i++) {
  const result = parseFrame(generator.next(), origin);
  if (result.ok) events.push(result.event);
}
const rules = compileRules(
  sessionsSettingsSchema.parse(parseYaml(DEFAULT_SESSIONS_YAML).sessions),
  countersSettingsSchema.parse(parseYaml(DEFAULT_COUNTERS_YAML).counters),
);
const plans = [];
for (let i = 0; i < events.length; i += BATCH) plans.push(rules.evaluateBatch(events.slice(i, i + BATCH)));

const cpuSeconds = (info) => Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);

const server = await startPrivateRedis();
const redis = new Redis(server.url);
try {
  const prefix = 'bench:';
  const auditStream = 'bench:audit';
  const sessions = createSessionStore(redis, { prefix, auditStream });
  const counters = createCounterStore(redis, { prefix, auditStream });
  await redis.config('RESETSTAT');
  const cpuBefore = cpuSeconds(await redis.info('cpu'));
  let counts = { opens: 0, closes: 0, refreshes: 0, counterUpdates: 0, alerts: 0 };
  let eventClockMs = 0;
  const t0 = process.hrtime.bigint();
  for (const plan of plans) {
    const nowMs = Date.now();
    let newest = 0;
    for (const update of plan.counterUpdates) if (update.timeMs > newest) newest = update.timeMs;
    eventClockMs = Math.max(eventClockMs, Math.min(newest, nowMs + 300_000));
    const sessionWork = ONLY === 'counters' ? undefined : (async () => {
      if (plan.sessionOps.length > 0) await sessions.applyOps(plan.sessionOps, nowMs);
      if (plan.refreshes.length > 0) await sessions.refresh(plan.refreshes, nowMs);
    })();
    // Alerts are confirmed (ackAlerts) once written, as the state stage does.
    const counterWork =
      plan.counterUpdates.length > 0 && ONLY !== 'sessions'
        ? counters.apply(plan.counterUpdates, eventClockMs).then(async (result) => {
            if (result.alerts.length > 0) await counters.ackAlerts(result.alerts);
            return result;
          })
        : undefined;
    const [, counterResult] = await Promise.all([sessionWork, counterWork]);
    for (const op of plan.sessionOps) counts[op.kind === 'open' ? 'opens' : 'closes'] += 1;
    counts.refreshes += plan.refreshes.length;
    counts.counterUpdates += plan.counterUpdates.length;
    counts.alerts += counterResult?.alerts.length ?? 0;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpuAfter = cpuSeconds(await redis.info('cpu'));
  const stats = (await redis.info('commandstats')).split('\n').filter((l) => l.startsWith('cmdstat_'));
  const rows = stats.map((l) => {
    const [name, rest] = l.split(':');
    const f = Object.fromEntries(rest.trim().split(',').map((kv) => kv.split('=')));
    return { name: name.slice(8), calls: Number(f.calls), usec: Number(f.usec) };
  });
  rows.sort((a, b) => b.usec - a.usec);
  const evalsha = rows.find((row) => row.name === 'evalsha') ?? { calls: 0, usec: 0 };
  if (process.env.BENCH_COMMANDSTATS) process.stderr.write(`${JSON.stringify(rows.slice(0, 14))}\n`);
  console.log(
    JSON.stringify({
      events: events.length,
      ...counts,
      live_sessions: await redis.zcard('bench:{bench:audit}:expiry'),
      script_calls: evalsha.calls,
      script_us_per_event: +(evalsha.usec / events.length).toFixed(2),
      redis_cpu_us_per_event: +(((cpuAfter - cpuBefore) * 1e6) / events.length).toFixed(2),
      wall_events_per_s: Math.round(events.length / seconds),
    }),
  );
} finally {
  await redis.quit();
  await server.stop();
}
