import { describe, expect, it } from 'vitest';
import { parsePipelineText } from '../../../src/config/load.js';
import { FortistreamError } from '../../../src/errors.js';

const BASE = `
sources:
  udp_in: { type: syslog, mode: udp, address: "127.0.0.1:5514" }
sinks:
  soc: { type: redis_streams }
`;

function problems(text: string): string[] {
  try {
    parsePipelineText(text, 'p.yaml', { env: {} });
  } catch (error) {
    if (error instanceof FortistreamError) return [...error.details];
    throw error;
  }
  throw new Error('expected the pipeline to be rejected');
}

describe('profiles and api in the pipeline file', () => {
  it('defaults to no profiles (the soc sink alone, as before)', () => {
    const pipeline = parsePipelineText(BASE, 'p.yaml', { env: {} });
    expect(pipeline.profiles).toEqual({});
    expect(pipeline.api).toBeUndefined();
  });

  it('accepts ml/agent profiles with keyrings and an api section with defaults', () => {
    const pipeline = parsePipelineText(
      `${BASE}profiles:\n  ml: { type: ml, keyring: /etc/fortistream/ml.json, max_len: 5000 }\n  agent: { type: agent, keyring: { env: AGENT_KEYS }, max_text_chars: 256 }\napi:\n  tokens_file: /etc/fortistream/tokens.yaml\n`,
      'p.yaml',
      { env: {} },
    );
    expect(pipeline.profiles.ml).toMatchObject({ type: 'ml', keyring: { file: '/etc/fortistream/ml.json' }, max_len: 5000 });
    expect(pipeline.profiles.agent?.keyring).toEqual({ env: 'AGENT_KEYS' });
    expect(pipeline.api).toEqual({ tokens_file: '/etc/fortistream/tokens.yaml', keepalive_seconds: 15, max_sse_clients: 100 });
  });

  it('names the file and key path of each profile problem', () => {
    const found = problems(
      `${BASE}profiles:\n  ml: { type: ml }\n  agent: { type: agent, keyring: k.json, fields: [user.name, message] }\n  bad: { type: ml, keyring: k.json, text_fields: [message] }\n  other: { type: soc, keyring: k.json }\n  Wrong: { type: soc }\n`,
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^p\.yaml: profiles\.ml\.keyring: the ml profile needs a keyring/),
        expect.stringMatching(/^p\.yaml: profiles\.agent\.fields\.0: "user\.name" holds a raw identity/),
        expect.stringMatching(/^p\.yaml: profiles\.agent\.fields\.1: "message" is free text; list it under text_fields/),
        expect.stringMatching(/^p\.yaml: profiles\.bad\.text_fields: only the agent profile carries text/),
        expect.stringMatching(/^p\.yaml: profiles\.other\.keyring: the soc profile does not pseudonymize/),
        expect.stringMatching(/^p\.yaml: profiles\.Wrong: /),
      ]),
    );
  });

  it('refuses a profile that shares a stream or a name with a sink or another profile', () => {
    const found = problems(`${BASE}profiles:\n  soc2: { type: soc }\n  soc: { type: soc, stream: "events:other" }\n  ml: { type: ml, keyring: k.json, stream: dead }\n`);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^p\.yaml: profiles\.soc2\.stream: stream "events:soc" is already written by sink "soc"/),
        expect.stringMatching(/^p\.yaml: profiles\.soc: "soc" is already a sink name/),
        expect.stringMatching(/^p\.yaml: profiles\.ml\.stream: stream "dead" is already written by sink "soc" \(dead letters\)/),
      ]),
    );
  });

  it('checks the api section', () => {
    const found = problems(`${BASE}api:\n  address: nowhere\n  keepalive_seconds: 0\n`);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^p\.yaml: api\.address: HOST:PORT/),
        expect.stringMatching(/^p\.yaml: api\.tokens_file: /),
        expect.stringMatching(/^p\.yaml: api\.keepalive_seconds: /),
      ]),
    );
  });
});
