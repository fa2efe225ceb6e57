import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkCommand } from '../../../src/commands/check.js';
import { parsePipelineText } from '../../../src/config/load.js';
import { FortistreamError } from '../../../src/errors.js';
import { defineFeed, feedsSettingsSchema, loadFeeds, sha256 } from '../../../src/feeds/settings.js';

const BASE = `
sources:
  udp_in: { type: syslog, mode: udp, address: "127.0.0.1:5514" }
sinks:
  soc: { type: redis_streams }
devices:
  d: { base_url: "https://10.0.0.1", token_env: FGT_TOKEN }
  fgt_hq: { base_url: "https://10.0.0.2", token_env: FGT_TOKEN }
`;

function problems(feedsYaml: string): string[] {
  try {
    parsePipelineText(`${BASE}${feedsYaml}`, 'p.yaml', { env: {} });
  } catch (error) {
    if (error instanceof FortistreamError) return [...error.details];
    throw error;
  }
  throw new Error('expected the pipeline to be rejected');
}

describe('feeds settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fst-feeds-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const secret = (name: string, content: string, mode = 0o600): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    chmodSync(path, mode);
    return path;
  };

  it('accepts the documented shapes and fills defaults', () => {
    const pipeline = parsePipelineText(
      `${BASE}
feeds:
  finance: { type: group, group: Finance }
  blocked: { type: list, list: blocked, auth: { token_file: /etc/t }, push: { device: fgt_hq, connector: fortistream-blocked } }
  revoked: { type: list, list: revoked, auth: { basic: { username: fgt, password_file: /etc/p } }, max_bytes: 4096 }
api:
  tokens_file: /etc/tokens.yaml
  tls: { cert_file: /etc/c.pem, key_file: /etc/k.pem }
`,
      'p.yaml',
      { env: {} },
    );
    expect(pipeline.feeds?.finance).toEqual({ type: 'group', group: 'Finance', auth: 'none', max_bytes: 1_048_576 });
    expect(pipeline.feeds?.blocked?.push).toEqual({ device: 'fgt_hq', connector: 'fortistream-blocked', snapshot_interval_seconds: 300 });
    expect(pipeline.feeds?.revoked?.max_bytes).toBe(4096);
    expect(pipeline.api?.tls).toEqual({ cert_file: '/etc/c.pem', key_file: '/etc/k.pem' });
  });

  it('names the key path and what was expected', () => {
    expect(problems('feeds:\n  Finance: { type: group, group: Finance }\n')).toEqual([expect.stringMatching(/^p\.yaml: feeds\.Finance: feed names are lower-case/)]);
    expect(problems('feeds:\n  f: { type: group }\n')).toEqual([expect.stringMatching(/^p\.yaml: feeds\.f\.group: /)]);
    expect(problems('feeds:\n  f: { type: subnet, group: x }\n')).toEqual([expect.stringMatching(/^p\.yaml: feeds\.f\.type: /)]);
    expect(problems('feeds:\n  f: { type: list, list: "a b" }\n')).toEqual(['p.yaml: feeds.f.list: letters, digits and _ . - (1 to 64 characters)']);
    expect(problems('feeds:\n  f: { type: list, list: a, max_bytes: 10 }\n')).toEqual([expect.stringMatching(/^p\.yaml: feeds\.f\.max_bytes: /)]);
    expect(problems('feeds:\n  f: { type: list, list: a, colour: red }\n')).toEqual(['p.yaml: feeds.f: unknown key(s) "colour"']);
    expect(problems('feeds:\n  f: { type: list, list: a, auth: { basic: { username: u, password_file: /p } , token_file: /t } }\n')).toEqual([
      'p.yaml: feeds.f.auth: give exactly one of basic or token_file (or auth: none)',
    ]);
    expect(problems('feeds:\n  f: { type: list, list: a, auth: { basic: { username: "a:b", password_file: /p } } }\n')).toEqual([
      'p.yaml: feeds.f.auth.basic.username: 1 to 64 characters, no spaces or ":"',
    ]);
    expect(problems('feeds:\n  f: { type: list, list: a, push: { device: d, connector: "has space" } }\n')).toEqual([
      expect.stringMatching(/^p\.yaml: feeds\.f\.push\.connector: the external-resource name/),
    ]);
    expect(problems('feeds:\n  f: { type: list, list: a, push: { device: d, connector: c, snapshot_interval_seconds: 1 } }\n')).toEqual([
      expect.stringMatching(/^p\.yaml: feeds\.f\.push\.snapshot_interval_seconds: /),
    ]);
    expect(problems('api: { tokens_file: /t, tls: { cert_file: /c } }\n')).toEqual([expect.stringMatching(/^p\.yaml: api\.tls\.key_file: /)]);
  });

  it('refuses a push to a device that is not declared', () => {
    expect(problems('feeds:\n  f: { type: list, list: a, push: { device: elsewhere, connector: c } }\n')).toEqual([
      'p.yaml: feeds.f.push.device: no device "elsewhere" under devices:',
    ]);
  });

  it('refuses two feeds pushing to the same connector', () => {
    expect(
      problems('feeds:\n  a: { type: list, list: a, push: { device: d, connector: c } }\n  b: { type: list, list: b, push: { device: d, connector: c } }\n'),
    ).toEqual(['p.yaml: feeds.b.push.connector: connector "c" on device "d" is already fed by "a"']);
  });

  it('loads secrets from files, keeps only their digests, and refuses files others can read', async () => {
    const password = secret('pw', 'correct horse battery\n');
    const token = secret('token', 'abcdefghijklmnopqrstuvwxyz0123\n');
    const settings = feedsSettingsSchema.parse({
      basic: { type: 'group', group: 'Finance', auth: { basic: { username: 'fgt', password_file: password } } },
      token: { type: 'list', list: 'blocked', auth: { token_file: token }, push: { device: 'fgt', connector: 'c' } },
      open: { type: 'list', list: 'revoked' },
    });
    const feeds = await loadFeeds(settings);
    expect(feeds.map((f) => f.name)).toEqual(['basic', 'token', 'open']);
    expect(feeds[0]?.auth.basic?.username).toBe('fgt');
    expect(feeds[0]?.auth.basic?.passwordSha256.equals(sha256('correct horse battery'))).toBe(true);
    expect(feeds[1]?.auth.tokenSha256?.equals(sha256('abcdefghijklmnopqrstuvwxyz0123'))).toBe(true);
    expect(feeds[1]?.push).toEqual({ device: 'fgt', connector: 'c', snapshotIntervalMs: 300_000 });
    expect(feeds[2]?.auth).toEqual({});
    expect(JSON.stringify(feeds)).not.toContain('correct horse');

    const readable = secret('readable', 'a-secret-that-others-can-read-000\n', 0o644);
    const empty = secret('empty', '\n');
    const short = secret('short', 'too-short\n');
    const spaced = secret('spaced', 'a token with spaces in it, not for URLs\n');
    const bad = feedsSettingsSchema.parse({
      a: { type: 'list', list: 'a', auth: { token_file: readable } },
      b: { type: 'list', list: 'b', auth: { basic: { username: 'u', password_file: empty } } },
      c: { type: 'list', list: 'c', auth: { token_file: short } },
      d: { type: 'list', list: 'd', auth: { token_file: spaced } },
      e: { type: 'list', list: 'e', auth: { token_file: join(dir, 'missing') } },
    });
    const error = await loadFeeds(bad).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FortistreamError);
    const failure = error as FortistreamError;
    expect(failure.code).toBe('FST_FEED_SECRET_INVALID');
    expect(failure.details).toEqual([
      expect.stringMatching(/^feeds\.a\.auth\.token_file: .*readable is world-readable \(mode 644\)/),
      expect.stringMatching(/^feeds\.b\.auth\.basic\.password_file: .*empty is empty/),
      expect.stringMatching(/^feeds\.c\.auth\.token_file: .*short must hold at least 24 characters/),
      expect.stringMatching(/^feeds\.d\.auth\.token_file: .*spaced must hold at least 24 characters/),
      expect.stringMatching(/^feeds\.e\.auth\.token_file: .*missing cannot be read \(ENOENT\)/),
    ]);
    expect(failure.details.join('\n')).not.toMatch(/a-secret-that|too-short|with spaces/);
  });

  it('fortistream check lists the feeds', () => {
    const file = join(dir, 'pipeline.yaml');
    writeFileSync(file, `${BASE}feeds:\n  finance: { type: group, group: Finance }\n  blocked: { type: list, list: blocked, push: { device: fgt_hq, connector: fs-blocked } }\n`);
    const out: string[] = [];
    expect(checkCommand(file, (line) => out.push(line), () => undefined)).toBe(0);
    expect(out).toContain('  feeds: finance (group Finance), blocked (list blocked → push fgt_hq/fs-blocked)');
  });

  it('defineFeed refuses a feed whose auth lacks its secret', () => {
    const settings = feedsSettingsSchema.parse({ f: { type: 'list', list: 'x', auth: { token_file: '/t' } } }).f;
    if (!settings) throw new Error('no settings');
    expect(() => defineFeed('f', settings)).toThrow(/token auth needs its token/);
  });
});
