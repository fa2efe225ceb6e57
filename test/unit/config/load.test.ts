import { describe, expect, it } from 'vitest';
import { loadPipelineFile, parsePipelineText } from '../../../src/config/load.js';
import { parse as parseYaml } from 'yaml';
import { FortistreamError } from '../../../src/errors.js';
import { DEFAULT_COUNTERS_YAML, DEFAULT_SESSIONS_YAML } from '../../../src/state/rules-defaults.js';
import { countersSettingsSchema, sessionsSettingsSchema } from '../../../src/state/rules-schema.js';

function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parsePipelineText(text, 'p.yaml', { env });
  } catch (error) {
    if (error instanceof FortistreamError) return [...error.details];
    throw error;
  }
  throw new Error('expected the pipeline to be rejected');
}

const MINIMAL = `
sources:
  udp_in: { type: syslog, mode: udp, address: "127.0.0.1:5514" }
sinks:
  soc: { type: redis_streams }
`;

describe('pipeline file loading', () => {
  it('accepts the shipped default pipeline and freezes it', () => {
    const { pipeline } = loadPipelineFile('pipelines/default.yaml', { env: {} });
    expect(Object.keys(pipeline.sources)).toEqual(['fortigate_udp', 'fortigate_tcp']);
    expect(pipeline.redis.key_prefix).toBe('fortistream:');
    expect(pipeline.sinks.soc?.stream).toBe('events:soc');
    expect(Object.isFrozen(pipeline)).toBe(true);
    expect(Object.isFrozen(pipeline.sources)).toBe(true);
  });

  it('ships the default session rules and counters in the default pipeline', () => {
    const { pipeline } = loadPipelineFile('pipelines/default.yaml', { env: {} });
    const sessions = sessionsSettingsSchema.parse((parseYaml(DEFAULT_SESSIONS_YAML) as { sessions: unknown }).sessions);
    const counters = countersSettingsSchema.parse((parseYaml(DEFAULT_COUNTERS_YAML) as { counters: unknown }).counters);
    expect(pipeline.sessions).toEqual(sessions);
    expect(pipeline.counters).toEqual(counters);
    expect(pipeline.audit).toEqual({ stream: 'audit', max_len: 100_000 });
    expect(pipeline.alerts).toEqual({ stream: 'alerts', max_len: 100_000 });
  });

  it('fills defaults for a minimal file', () => {
    const pipeline = parsePipelineText(MINIMAL, 'p.yaml', { env: {} });
    expect(pipeline.pipeline.batch_max_events).toBe(1000);
    expect(pipeline.pipeline.buffer_max_bytes).toBe(64 * 1024 * 1024);
    expect(pipeline.redis.key_prefix).toBe('fortistream:');
  });

  it('names the file, the key path and the expectation for each problem', () => {
    const found = problems(`
pipeline:
  batch_max_events: 0
  bogus: 1
sources:
  udp_in: { type: syslog, mode: udp, address: "nowhere" }
  Bad-Name: { type: syslog, mode: tcp, address: "127.0.0.1:1" }
  other: { type: kafka }
sinks:
  soc: { type: redis_streams, max_len: -5 }
`);
    const text = found.join('\n');
    expect(text).toMatch(/p\.yaml: pipeline\.batch_max_events: /);
    expect(text).toMatch(/p\.yaml: pipeline: unknown key\(s\) "bogus"/);
    expect(text).toMatch(/p\.yaml: sources\.udp_in\.address: /);
    expect(text).toMatch(/p\.yaml: sources\.Bad-Name/);
    expect(text).toMatch(/p\.yaml: sources\.other(\.type)?: /);
    expect(text).toMatch(/p\.yaml: sinks\.soc\.max_len: /);
    for (const line of found) expect(line.startsWith('p.yaml: ')).toBe(true);
  });

  it('requires at least one source and one sink', () => {
    const text = problems('sources: {}\nsinks: {}\n').join('\n');
    expect(text).toMatch(/sources: at least one source/);
    expect(text).toMatch(/sinks: at least one sink/);
  });

  it('refuses two sources on the same address and transport', () => {
    const text = problems(`
sources:
  a: { type: syslog, mode: tcp, address: "127.0.0.1:5514" }
  b: { type: syslog, mode: tcp, address: "127.0.0.1:5514" }
sinks:
  soc: { type: redis_streams }
`).join('\n');
    expect(text).toMatch(/sources\.b\.address: 127\.0\.0\.1:5514 is already used by source "a"/);
  });

  it('reports YAML syntax errors and unreadable files', () => {
    expect(() => parsePipelineText('sources: [', 'p.yaml', { env: {} })).toThrow(/not valid YAML/);
    expect(() => loadPipelineFile('/nonexistent/pipeline.yaml')).toThrow(/cannot read pipeline file/);
  });

  it('interpolates ${VAR} and ${VAR:-default} from the environment', () => {
    const text = MINIMAL.replace('"127.0.0.1:5514"', '"${LISTEN:-127.0.0.1:6000}"').replace(
      'sinks:',
      'redis:\n  url: "${MY_REDIS}"\nsinks:',
    );
    const pipeline = parsePipelineText(text, 'p.yaml', { env: { MY_REDIS: 'redis://10.9.9.9:6380' } });
    expect(pipeline.redis.url).toBe('redis://10.9.9.9:6380');
    expect(pipeline.sources.udp_in?.address).toBe('127.0.0.1:6000');
    expect(problems(text, {}).join('\n')).toMatch(/redis\.url: environment variable MY_REDIS is not set/);
  });

  it('applies --udp/--tcp overrides to the first source of that mode, or adds one', () => {
    const pipeline = parsePipelineText(MINIMAL, 'p.yaml', { env: {}, overrides: { udp: '127.0.0.1:7000', tcp: '127.0.0.1:7001' } });
    expect(pipeline.sources.udp_in?.address).toBe('127.0.0.1:7000');
    expect(pipeline.sources.tcp?.mode).toBe('tcp');
    expect(pipeline.sources.tcp?.address).toBe('127.0.0.1:7001');
    expect(problems(MINIMAL.replace('sinks:', 'x: 1\nsinks:'), {}).join('\n')).toMatch(/unknown key/);
  });

  it('asks for a certificate when --tls adds a listener to a pipeline without one', () => {
    try {
      parsePipelineText(MINIMAL, 'p.yaml', { env: {}, overrides: { tls: '127.0.0.1:6514' } });
      throw new Error('expected a problem');
    } catch (error) {
      expect(error).toBeInstanceOf(FortistreamError);
      expect((error as FortistreamError).details.join('\n')).toMatch(/sources\.tls\.tls/);
    }
  });
});
