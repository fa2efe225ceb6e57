import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadEndpoints } from '../../../src/actions/endpoints.js';
import { actionsSettingsSchema, devicesSettingsSchema } from '../../../src/actions/settings.js';
import { parsePipelineText } from '../../../src/config/load.js';
import { FortistreamError } from '../../../src/errors.js';

const BASE = `
sources:
  udp_in: { type: syslog, mode: udp, address: "127.0.0.1:5514" }
sinks:
  soc: { type: redis_streams }
`;

function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parsePipelineText(BASE + text, 'p.yaml', { env });
  } catch (error) {
    if (error instanceof FortistreamError) return [...error.details];
    throw error;
  }
  throw new Error('expected the pipeline to be rejected');
}

describe('devices and actions settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fst-actions-settings-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts the documented example and fills defaults', () => {
    const pipeline = parsePipelineText(
      `${BASE}
devices:
  fgt_hq:
    base_url: https://10.0.0.1:8443
    token_file: /etc/fortistream/fgt_hq.token
    vdom: root
    serials: [FGT60F0000000001]
    names: [FGT-HQ]
    api_user: fortistream
actions:
  webhooks:
    soc: { url: "https://hooks.example/x" }
`,
      'p.yaml',
      { env: {} },
    );
    expect(pipeline.devices?.fgt_hq).toEqual({
      base_url: 'https://10.0.0.1:8443',
      token_file: '/etc/fortistream/fgt_hq.token',
      vdom: 'root',
      verify_tls: true,
      serials: ['FGT60F0000000001'],
      names: ['FGT-HQ'],
      api_user: 'fortistream',
      dry_run: false,
      max_calls_per_second: 5,
      timeout_ms: 5000,
    });
    expect(pipeline.actions).toEqual({
      queue: 'fortistream-actions',
      attempts: 6,
      backoff_initial_ms: 1000,
      concurrency: 4,
      keep_failed: 10_000,
      keep_completed_seconds: 3600,
      webhooks: { soc: { url: 'https://hooks.example/x', timeout_ms: 5000, verify_tls: true } },
    });
  });

  it('names the key path of each problem', () => {
    const found = problems(`
devices:
  fgt_hq:
    base_url: ftp://10.0.0.1
    max_calls_per_second: 0
    colour: red
  fgt_two:
    base_url: https://10.0.0.2
    token_file: /a
    token_env: B
  fgt_three:
    base_url: https://user:pw@10.0.0.3
    token_env: T
  Bad-Name:
    base_url: https://10.0.0.5
    token_env: T
actions:
  queue: "a:b"
  attempts: 0
  webhooks:
    hook: { url: "https://h", token_file: /x, token_env: Y }
`);
    const text = found.join('\n');
    expect(text).toContain('p.yaml: devices.fgt_hq.base_url: an http:// or https:// URL');
    expect(text).toContain('p.yaml: devices.fgt_hq.max_calls_per_second:');
    expect(text).toContain('p.yaml: devices.fgt_hq: unknown key(s) "colour"');
    expect(text).toContain('p.yaml: devices.fgt_hq.token_file: a REST API token is needed');
    expect(text).toContain('p.yaml: devices.fgt_two.token_env: give token_file or token_env, not both');
    expect(text).toContain('p.yaml: devices.fgt_three.base_url: a valid URL without user:password@');
    expect(text).toContain('p.yaml: devices.Bad-Name');
    expect(text).toContain('p.yaml: actions.queue: letters, digits and _ . - (BullMQ refuses : in queue names)');
    expect(text).toContain('p.yaml: actions.attempts:');
    expect(text).toContain('p.yaml: actions.webhooks.hook.token_env: give token_file or token_env, not both');
  });

  it('refuses a serial or name listed by two devices (a log must map to one FortiGate)', () => {
    expect(
      problems(`
devices:
  fgt_three: { base_url: "https://10.0.0.3", token_env: T, serials: [S1] }
  fgt_four: { base_url: "https://10.0.0.4", token_env: T, serials: [S1], names: [N] }
  fgt_five: { base_url: "https://10.0.0.5", token_env: T, names: [N] }
`),
    ).toEqual([
      'p.yaml: devices.fgt_four.serials: "S1" is already listed by device "fgt_three"',
      'p.yaml: devices.fgt_five.names: "N" is already listed by device "fgt_four"',
    ]);
  });

  it('webhooks need no token', () => {
    expect(actionsSettingsSchema.parse({ webhooks: { a: { url: 'http://127.0.0.1:9/x' } } }).webhooks.a?.token_file).toBeUndefined();
  });

  it('refuses a world-readable token file, an unset token variable and a token with spaces, never printing the token', async () => {
    const open = join(dir, 'open.token');
    writeFileSync(open, 'sekrit-token-value\n', { mode: 0o644 });
    const devices = (raw: Record<string, unknown>) => devicesSettingsSchema.parse({ fgt: { base_url: 'https://127.0.0.1:1', ...raw } });
    await expect(loadEndpoints(devices({ token_file: open }), {})).rejects.toMatchObject({
      code: 'FST_DEVICE_TOKEN_INVALID',
      message: expect.stringMatching(/device "fgt" token_file .*open\.token is world-readable/),
    });
    await expect(loadEndpoints(devices({ token_env: 'FST_NOT_SET' }), {}, { env: {} })).rejects.toMatchObject({
      code: 'FST_DEVICE_TOKEN_INVALID',
      message: expect.stringContaining('FST_NOT_SET is not set'),
    });
    const spaced = loadEndpoints(devices({ token_env: 'TOK' }), {}, { env: { TOK: 'two words' } });
    await expect(spaced).rejects.toMatchObject({ code: 'FST_DEVICE_TOKEN_INVALID' });
    await expect(spaced).rejects.not.toThrow(/two words/);
    const empty = join(dir, 'empty.token');
    writeFileSync(empty, '\n', { mode: 0o600 });
    await expect(loadEndpoints(devices({ token_file: empty }), {})).rejects.toMatchObject({ message: expect.stringContaining('is empty') });
    await expect(loadEndpoints(devices({ token_env: 'TOK', ca_file: join(dir, 'missing.pem') }), {}, { env: { TOK: 't' } })).rejects.toMatchObject({
      code: 'FST_CONFIG_INVALID',
      message: expect.stringContaining('missing.pem cannot be read (ENOENT)'),
    });
    const ok = await loadEndpoints(devices({ token_env: 'TOK', vdom: 'root' }), {}, { env: { TOK: 'abc' } });
    expect(ok.devices.get('fgt')?.client.urlFor('/api/v2/monitor/user/banned')).toBe('https://127.0.0.1:1/api/v2/monitor/user/banned?vdom=root');
    ok.close();
  });
});
