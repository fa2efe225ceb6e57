import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkCommand } from '../../../src/commands/check.js';
import { loadPipelineFile } from '../../../src/config/load.js';
import { loadPipelineTests, runPipelineTests, testFileFor } from '../../../src/config/pipeline-tests.js';

const LOGIN_FAIL =
  '<190>date=2025-06-01 time=10:05:00 devname="fw1" devid="FGT60F0000000001" logid="0100032002" type="event" subtype="system" level="alert" vd="root" user="admin" srcip=198.51.100.77 action="login" status="failed" msg="Administrator admin login failed"';

function files(pipeline: string, tests: string): { pipeline: string; tests: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fortistream-ptest-'));
  const pipelineFile = join(dir, 'site.yaml');
  writeFileSync(pipelineFile, pipeline);
  writeFileSync(testFileFor(pipelineFile), tests);
  return { pipeline: pipelineFile, tests: testFileFor(pipelineFile) };
}

const PIPELINE = `
sources:
  tcp_in: { type: syslog, mode: tcp, address: "127.0.0.1:0" }
sinks:
  soc: { type: redis_streams }
profiles:
  ml: { type: ml, keyring: /does/not/matter/for/tests }
`;

function run(pipeline: string, tests: string): { code: number; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const code = checkCommand(files(pipeline, tests).pipeline, (l) => out.push(l), (l) => err.push(l));
  return { code, out, err };
}

describe('pipeline test files', () => {
  it('the shipped pipelines/default.test.yaml passes against pipelines/default.yaml', () => {
    const { pipeline } = loadPipelineFile('pipelines/default.yaml');
    const results = runPipelineTests(pipeline, loadPipelineTests('pipelines/default.test.yaml'));
    expect(results.length).toBeGreaterThanOrEqual(5);
    expect(results.filter((r) => r.failures.length > 0)).toEqual([]);
  });

  it('checks sinks, profiles (pseudonyms present, identities absent) and dead letters', () => {
    const { code, out } = run(
      PIPELINE,
      `
tests:
  - name: admin login failure
    input: ['${LOGIN_FAIL}', "\\0\\x01\\x02binary"]
    expect:
      soc: [{ user.name: admin, event.outcome: failure, fortistream.source: test }]
      ml: [{ user.name: null, source.ip: null, user.pseudonym: { exists: true }, event.outcome: failure }]
      dead: [{ code: binary }]
`,
    );
    expect(code).toBe(0);
    expect(out.at(-1)).toMatch(/1 passed, 0 failed$/);
  });

  it('reports every difference with output, entry and field, and exits 11', () => {
    const { code, err, out } = run(
      PIPELINE,
      `
tests:
  - name: wrong on purpose
    input: '${LOGIN_FAIL}'
    expect:
      soc: [{ user.name: root, source.ip: null, event.code: { matches: "^99" } }]
      ml: [{ user.name: { exists: true } }, { event.kind: event }]
      nosuch: []
`,
    );
    expect(code).toBe(11);
    expect(out.at(-1)).toMatch(/0 passed, 1 failed$/);
    expect(err).toEqual([
      '  FAIL  wrong on purpose',
      '          soc entry 1: user.name: expected "root", got "admin"',
      '          soc entry 1: source.ip: expected absent, got "198.51.100.77"',
      '          soc entry 1: event.code: expected to match /^99/, got "0100032002"',
      '          ml: expected 2 entries, got 1',
      '          ml entry 1: user.name: expected present, got absent',
      '          nosuch: no sink or profile of that name in the pipeline (outputs: dead, soc, ml)',
    ]);
  });

  it('refuses a malformed test file with its key path', () => {
    const { code, err } = run(PIPELINE, 'tests:\n  - name: x\n    input: []\n    expect: {}\n');
    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(/site\.test\.yaml: tests\.0\.input/);
  });

  it('--no-tests validates only', () => {
    const paths = files(PIPELINE, 'tests: [{ name: x, input: a, expect: { soc: [{ a: b }] } }]\n');
    const out: string[] = [];
    expect(checkCommand(paths.pipeline, (l) => out.push(l), () => undefined, { tests: false })).toBe(0);
    expect(out.join('\n')).not.toContain('passed');
  });
});
