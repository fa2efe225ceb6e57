/**
 * Pipeline test files: `<pipeline>.test.yaml` beside a pipeline file (`pipelines/default.test.yaml`
 * for `pipelines/default.yaml`) holds cases — raw log lines in, the entries expected on each sink
 * stream, profile stream and the dead letters out — and `fortistream check` runs them with the
 * pipeline's own parser settings and profiles, without Redis (sessions and counters need Redis and are
 * covered by their own tests, not here). `ml`/`agent` profiles run under a throwaway key, so a test
 * asserts that a pseudonym exists, never its value.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FortistreamError, errorMessage } from '../errors.js';
import { parseFrame } from '../parse/index.js';
import { compileProfiles } from '../runtime/profiles.js';
import { projectEvent } from '../sanitize/profiles.js';
import { createPseudonymizer, type Keyring } from '../sanitize/pseudonymize.js';
import type { PipelineFile } from './pipeline.js';

const expectedValueSchema = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.null().describe('the field is absent'),
  z.strictObject({ exists: z.boolean() }),
  z.strictObject({ matches: z.string().min(1) }),
]);

const caseSchema = z.strictObject({
  name: z.string().min(1),
  /** Raw lines (one log each), as a FortiGate sends them. */
  input: z.union([z.string(), z.array(z.string()).min(1)]),
  /**
   * By output — a sink name, a profile name, or `dead` — the entries expected on it from this case's
   * lines, in order (exactly that many); each lists the fields to check.
   */
  expect: z.record(z.string().min(1), z.array(z.record(z.string().min(1), expectedValueSchema))),
});

export const pipelineTestFileSchema = z.strictObject({ tests: z.array(caseSchema).min(1) });

export type PipelineTestFile = z.infer<typeof pipelineTestFileSchema>;
type Expected = z.infer<typeof expectedValueSchema>;

export interface PipelineTestResult {
  readonly name: string;
  /** Empty when the case passed. */
  readonly failures: readonly string[];
}

/** `pipelines/x.yaml` → `pipelines/x.test.yaml`. */
export function testFileFor(pipelineFile: string): string {
  return pipelineFile.replace(/(\.ya?ml)?$/i, '.test.yaml');
}

/** Reads and validates a test file; FST_CONFIG_INVALID with key paths when it is wrong. */
export function loadPipelineTests(file: string): PipelineTestFile {
  let data: unknown;
  try {
    data = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new FortistreamError('FST_CONFIG_UNREADABLE', `${file}: ${errorMessage(error)}`);
  }
  const parsed = pipelineTestFileSchema.safeParse(data);
  if (!parsed.success) {
    const details = parsed.error.issues.map((issue) => `${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new FortistreamError('FST_CONFIG_INVALID', `${file}: not a valid pipeline test file`, { details });
  }
  return parsed.data;
}

/** The test file beside `pipelineFile`, or undefined when there is none. */
export function findPipelineTests(pipelineFile: string): string | undefined {
  const file = testFileFor(pipelineFile);
  return existsSync(file) ? file : undefined;
}

function describeValue(value: string | undefined): string {
  return value === undefined ? 'absent' : JSON.stringify(value);
}

function check(field: string, expected: Expected, actual: string | undefined): string | undefined {
  if (expected === null) return actual === undefined ? undefined : `${field}: expected absent, got ${describeValue(actual)}`;
  if (typeof expected === 'object') {
    if ('exists' in expected) {
      return (actual !== undefined) === expected.exists ? undefined : `${field}: expected ${expected.exists ? 'present' : 'absent'}, got ${describeValue(actual)}`;
    }
    return actual !== undefined && new RegExp(expected.matches).test(actual) ? undefined : `${field}: expected to match /${expected.matches}/, got ${describeValue(actual)}`;
  }
  return actual === String(expected) ? undefined : `${field}: expected ${JSON.stringify(String(expected))}, got ${describeValue(actual)}`;
}

function fieldMap(fields: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i < fields.length; i += 2) map.set(fields[i] as string, fields[i + 1] as string);
  return map;
}

/** Runs every case through the pipeline's parser and profiles; one result per case, in order. */
export function runPipelineTests(pipeline: Readonly<PipelineFile>, tests: PipelineTestFile): PipelineTestResult[] {
  const profiles = compileProfiles(pipeline);
  const keyring: Keyring = { current: 'test', keys: new Map([['test', { secret: randomBytes(32) }]]) };
  const ctx = { keyring, pseudonymizer: createPseudonymizer() };
  const known = new Set(['dead', ...Object.keys(pipeline.sinks), ...profiles.map((p) => p.name)]);
  return tests.tests.map((testCase) => {
    const failures: string[] = [];
    const outputs = new Map<string, Map<string, string>[]>([['dead', []]]);
    for (const name of Object.keys(pipeline.sinks)) outputs.set(name, []);
    for (const profile of profiles) outputs.set(profile.name, []);
    const lines = typeof testCase.input === 'string' ? [testCase.input] : testCase.input;
    lines.forEach((line, index) => {
      const result = parseFrame(Buffer.from(line, 'utf8'), { source: 'test', peer: `test:${index + 1}`, receivedAtMs: Date.now() });
      if (!result.ok) {
        outputs.get('dead')?.push(new Map([['code', result.code], ['reason', result.reason]]));
        return;
      }
      for (const name of Object.keys(pipeline.sinks)) outputs.get(name)?.push(fieldMap(result.event.fields));
      for (const profile of profiles) outputs.get(profile.name)?.push(fieldMap(projectEvent(result.event, profile, ctx)));
    });
    for (const [output, entries] of Object.entries(testCase.expect)) {
      if (!known.has(output)) {
        failures.push(`${output}: no sink or profile of that name in the pipeline (outputs: ${[...known].join(', ')})`);
        continue;
      }
      const actual = outputs.get(output) ?? [];
      if (actual.length !== entries.length) failures.push(`${output}: expected ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, got ${actual.length}`);
      entries.forEach((expected, i) => {
        const entry = actual[i];
        if (entry === undefined) return;
        for (const [field, value] of Object.entries(expected)) {
          const problem = check(field, value, entry.get(field));
          if (problem !== undefined) failures.push(`${output} entry ${i + 1}: ${problem}`);
        }
      });
    }
    return { name: testCase.name, failures };
  });
}
