// bench: rules — compileRules(default sessions + counters).evaluateBatch over 200,000 loadgen lines,
// parsed beforehand (only rule evaluation is timed), in batches of 1,000 like the pipeline.
// Run with `npm run bench -- rules` (builds first). Prints one JSON line:
// {"events_per_s", "events", "session_ops", "refreshes", "counter_updates"} (counts are per pass).
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const dist = (path) => import(pathToFileURL(resolve(here, '../../dist/src', path)).href);
const { parseFrame } = await dist('parse/index.js');
const { compileRules } = await dist('state/rules.js');
const { sessionsSettingsSchema, countersSettingsSchema } = await dist('state/rules-schema.js');
const { DEFAULT_SESSIONS_YAML, DEFAULT_COUNTERS_YAML } = await dist('state/rules-defaults.js');
// The repo lives next to `shared/` (/work/main → /work/shared), as in bench/lib/worker.mjs.
const { createGenerator } = await import(pathToFileURL(resolve(here, '../../../shared/bench/fgt-loadgen.mjs')).href);

const COUNT = Number(process.env.BENCH_RULES_EVENTS ?? 200_000);
const BATCH = 1000;
const generator = createGenerator({ seed: 1 });
const origin = { source: 'bench', peer: '127.0.0.1:514', receivedAtMs: Date.now() };
const events = [];
for (let i = 0; i < COUNT; i++) {
  const result = parseFrame(generator.next(), origin);
  if (result.ok) events.push(result.event);
}
const batches = [];
for (let i = 0; i < events.length; i += BATCH) batches.push(events.slice(i, i + BATCH));

const rules = compileRules(
  sessionsSettingsSchema.parse(parseYaml(DEFAULT_SESSIONS_YAML).sessions),
  countersSettingsSchema.parse(parseYaml(DEFAULT_COUNTERS_YAML).counters),
);

function runOnce() {
  let sessionOps = 0;
  let refreshes = 0;
  let counterUpdates = 0;
  for (const batch of batches) {
    const result = rules.evaluateBatch(batch);
    sessionOps += result.sessionOps.length;
    refreshes += result.refreshes.length;
    counterUpdates += result.counterUpdates.length;
  }
  return { sessionOps, refreshes, counterUpdates };
}

for (let i = 0; i < 3; i++) runOnce(); // warm-up
globalThis.gc?.();

let best = Infinity;
let counts;
for (let r = 0; r < 5; r++) {
  const t0 = process.hrtime.bigint();
  counts = runOnce();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (seconds < best) best = seconds;
}
console.log(
  JSON.stringify({
    events_per_s: Math.round(events.length / best),
    events: events.length,
    session_ops: counts.sessionOps,
    refreshes: counts.refreshes,
    counter_updates: counts.counterUpdates,
  }),
);
