// bench: parse — parseFrame over 200,000 loadgen lines (FortiOS `default` format, ~80% traffic).
// Run with `npm run bench -- parse` (builds first). Prints one JSON line:
// {"lines_per_s", "mb_per_s", "lines", "dead"}.
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, resolve } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const { parseFrame } = await import(pathToFileURL(resolve(here, '../../dist/src/parse/index.js')).href);
// The repo lives next to `shared/` (/work/main → /work/shared).
const { createGenerator } = await import(pathToFileURL(resolve(here, '../../../shared/bench/fgt-loadgen.mjs')).href);

const COUNT = Number(process.env.BENCH_PARSE_LINES ?? 200_000);
const generator = createGenerator({ seed: 1 });
const frames = new Array(COUNT);
let bytes = 0;
for (let i = 0; i < COUNT; i++) {
  const buf = Buffer.from(generator.next(), 'utf8');
  frames[i] = buf;
  bytes += buf.length;
}
const origin = { source: 'bench', peer: '127.0.0.1:514', receivedAtMs: Date.now() };

function runOnce() {
  let dead = 0;
  let sink = 0;
  for (let i = 0; i < frames.length; i++) {
    const result = parseFrame(frames[i], origin);
    if (result.ok) sink += result.event.fields.length;
    else dead++;
  }
  return { dead, sink };
}

// Warm-up: let the JIT settle on the hot path.
for (let i = 0; i < 2; i++) runOnce();
globalThis.gc?.();

const rounds = 3;
let best = Infinity;
let dead = 0;
for (let r = 0; r < rounds; r++) {
  const t0 = process.hrtime.bigint();
  const res = runOnce();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  dead = res.dead;
  if (seconds < best) best = seconds;
}
console.log(
  JSON.stringify({
    lines_per_s: Math.round(COUNT / best),
    mb_per_s: Math.round((bytes / 1e6 / best) * 10) / 10,
    lines: COUNT,
    dead,
  }),
);
