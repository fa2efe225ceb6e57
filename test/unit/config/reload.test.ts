import { mkdtempSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { diffPipelines, isUnchanged } from '../../../src/config/diff.js';
import { loadPipelineFile } from '../../../src/config/load.js';
import type { PipelineFile } from '../../../src/config/pipeline.js';
import { createPipelineReloader, type PipelineReloader, type ReloadResult } from '../../../src/config/reload.js';
import { waitFor } from '../../support/fortigate-lines.js';

const PIPELINE = (seconds: number, extra = ''): string => `
sources:
  a: { type: syslog, mode: tcp, address: "127.0.0.1:0" }
sinks:
  soc: { type: redis_streams }
counters:
  - { name: denies, when: { event.action: deny }, key: [source.ip], window_seconds: ${seconds}, bucket_seconds: 10 }
${extra}`;

interface Harness {
  readonly file: string;
  readonly reloader: PipelineReloader;
  readonly applied: Readonly<PipelineFile>[];
  readonly results: ReloadResult[];
  readonly logs: Record<string, unknown>[];
}

let reloaders: PipelineReloader[] = [];
afterEach(() => {
  for (const reloader of reloaders) reloader.close();
  reloaders = [];
});

function harness(options: { watch?: boolean; failApply?: boolean } = {}): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'fortistream-reload-'));
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(file, PIPELINE(60));
  let current = loadPipelineFile(file, { env: {} }).pipeline;
  const applied: Readonly<PipelineFile>[] = [];
  const results: ReloadResult[] = [];
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const reloader = createPipelineReloader({
    file,
    env: {},
    logger,
    reloads: { inc: ({ result }) => results.push(result) },
    watch: options.watch ?? true,
    debounceMs: 50,
    async apply(next) {
      if (options.failApply) throw new Error('keyring /x/key.json: cannot be read');
      const diff = diffPipelines(current, next);
      current = next;
      applied.push(next);
      return { diff, applied: !isUnchanged(diff), problems: [] };
    },
  });
  reloaders.push(reloader);
  return { file, reloader, applied, results, logs };
}

const windowOf = (pipeline: Readonly<PipelineFile>): number | undefined => pipeline.counters?.[0]?.window_seconds;

describe('pipeline reloader', () => {
  it('reloads when the file is rewritten, and logs one line with what changed', async () => {
    const h = harness();
    writeFileSync(h.file, PIPELINE(120));
    await waitFor(() => h.results.length, (n) => n >= 1, 5000);
    expect(h.results).toEqual(['applied']);
    expect(h.applied.map(windowOf)).toEqual([120]);
    const line = h.logs.find((l) => l.msg === 'pipeline reloaded');
    expect(line).toMatchObject({ trigger: 'file', result: 'applied', changes: { changed: { counters: ['denies'] } } });
  });

  it('sees a file replaced by rename, as editors and ConfigMaps do', async () => {
    const h = harness();
    const temporary = join(h.file, '..', '.pipeline.yaml.swp');
    writeFileSync(temporary, PIPELINE(300));
    renameSync(temporary, h.file);
    await waitFor(() => h.results.length, (n) => n >= 1, 5000);
    expect(h.applied.map(windowOf)).toEqual([300]);
  });

  it('rejects invalid YAML and invalid values with file, key path and expectation, and applies nothing', async () => {
    const h = harness();
    writeFileSync(h.file, 'sources: [unclosed\n');
    await waitFor(() => h.results.length, (n) => n >= 1, 5000);
    writeFileSync(h.file, PIPELINE(25));
    await waitFor(() => h.results.length, (n) => n >= 2, 5000);
    expect(h.results).toEqual(['rejected', 'rejected']);
    expect(h.applied).toEqual([]);
    const rejected = h.logs.filter((l) => l.msg === 'pipeline reload rejected; the running pipeline stays in force');
    expect(rejected[0]).toMatchObject({ code: 'FST_CONFIG_UNREADABLE', reason: `${h.file} is not valid YAML` });
    expect((rejected[0]?.problems as string[])[0]).toMatch(new RegExp(`^${h.file}: `));
    expect(rejected[1]).toMatchObject({ code: 'FST_CONFIG_INVALID' });
    expect(rejected[1]?.problems).toEqual([`${h.file}: counters.0.bucket_seconds: bucket_seconds (10) must divide window_seconds (25)`]);
  });

  it('rejects when the switch itself fails (e.g. a keyring), naming why', async () => {
    const h = harness({ watch: false, failApply: true });
    writeFileSync(h.file, PIPELINE(120));
    const outcome = await h.reloader.reload('signal');
    expect(outcome).toMatchObject({ result: 'rejected', problems: ['keyring /x/key.json: cannot be read'] });
  });

  it('does not watch with watch: false, and reload() (SIGHUP) applies; a touch without new bytes changes nothing', async () => {
    const h = harness({ watch: false });
    writeFileSync(h.file, PIPELINE(120));
    await new Promise((r) => setTimeout(r, 300));
    expect(h.results).toEqual([]);
    expect(await h.reloader.reload('signal')).toMatchObject({ result: 'applied', changes: { changed: { counters: ['denies'] } } });
    expect(await h.reloader.reload('signal')).toMatchObject({ result: 'unchanged' });
    expect(h.results).toEqual(['applied', 'unchanged']);

    const watched = harness();
    writeFileSync(watched.file, PIPELINE(120));
    await waitFor(() => watched.results.length, (n) => n >= 1, 5000);
    const now = new Date();
    utimesSync(watched.file, now, now);
    writeFileSync(watched.file, PIPELINE(120));
    await new Promise((r) => setTimeout(r, 300));
    expect(watched.results).toEqual(['applied']);
  });

  it('runs reloads one at a time; requests made while one waits share it', async () => {
    const h = harness({ watch: false });
    writeFileSync(h.file, PIPELINE(120));
    const [first, second, third] = await Promise.all([h.reloader.reload('signal'), h.reloader.reload('signal'), h.reloader.reload('request')]);
    expect(first.result).toBe('applied');
    expect(second).toBe(first);
    expect(third).toBe(first);
    expect(h.results).toEqual(['applied']);
  });
});
