#!/usr/bin/env node
// npm run bench [-- NAME ...]: runs each scenario in bench/scenarios/NAME.mjs in its own process
// (one core each, one after another), collects the JSON line each prints last, prints them as one
// JSON document and writes bench/results/latest.json (docs/benchmarks.md is regenerated from it).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const scenarioDir = join(here, 'scenarios');
const all = readdirSync(scenarioDir).filter((f) => f.endsWith('.mjs')).map((f) => f.slice(0, -4)).sort();
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length) {
  console.error(`unknown scenario(s): ${unknown.join(', ')}; available: ${all.join(', ')}`);
  process.exit(2);
}
const names = wanted.length ? wanted : all;
const results = [];
let failures = 0;
for (const name of names) {
  process.stderr.write(`bench: ${name} …\n`);
  const run = spawnSync(process.execPath, ['--expose-gc', join(scenarioDir, `${name}.mjs`)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const lines = (run.stdout ?? '').trim().split('\n').filter(Boolean);
  const last = lines.at(-1);
  try {
    if (run.status !== 0 || !last) throw new Error(`exit ${run.status}`);
    results.push({ scenario: name, ...JSON.parse(last) });
  } catch (error) {
    failures += 1;
    results.push({ scenario: name, error: String(error instanceof Error ? error.message : error) });
  }
}
const report = { date: new Date().toISOString(), node: process.version, results };
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report, null, 2));
process.exit(failures ? 1 : 0);
