import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from '../support/worker-process.js';

function cli(args: string[], input?: Buffer | string) {
  const run = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8', timeout: 30_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('fortistream command line', () => {
  it.each(['run', 'check', 'parse', 'replay', 'demo', 'bench', 'sessions', 'counters', 'tail', 'pseudonym', 'keygen'])('%s has --help', (command) => {
    const { code, stdout } = cli([command, '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain(`Usage: fortistream ${command}`);
  });

  it('parse prints one JSON object per input line, in order, dead lines in place', () => {
    const input = Buffer.concat([
      Buffer.from('<189>date=2026-12-04 time=10:00:00 devname="fw1" logid="0100032001" type="event" subtype="system" user="admin" srcip=10.1.2.3 action="login" status="success"\n'),
      Buffer.from('this is not a fortigate line\n'),
      Buffer.from([0xff, 0xfe, 0x00, 0x0a]),
      Buffer.from('date=2026-12-04 time=10:00:01 logid=0000000013 srcip=10.0.0.9 dstport=443\r\n'),
    ]);
    const { code, stdout } = cli(['parse', '-'], input);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatchObject({ 'event.code': '0100032001', 'user.name': 'admin', 'source.ip': '10.1.2.3', 'event.outcome': 'success' });
    expect(lines[1]).toMatchObject({ dead: true });
    expect(typeof lines[1]?.reason).toBe('string');
    expect(lines[2]).toMatchObject({ dead: true });
    expect(lines[3]).toMatchObject({ 'source.ip': '10.0.0.9', 'destination.port': 443 });
  });

  it('parse exits non-zero with a clear message when the file cannot be read', () => {
    const { code, stderr } = cli(['parse', '/nonexistent/file.log']);
    expect(code).toBe(5);
    expect(stderr).toMatch(/FST_INPUT_UNREADABLE: cannot read \/nonexistent\/file\.log/);
  });

  it('check accepts the default pipeline and lists every problem of a bad one', () => {
    const ok = cli(['check', 'pipelines/default.yaml']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('pipelines/default.yaml: ok');
    const dir = mkdtempSync(join(tmpdir(), 'fst-check-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'sources:\n  x: { type: syslog, mode: carrier-pigeon, address: "a:1" }\nsinks:\n  s: { type: redis_streams, max_len: 0 }\nextra: 1\n');
    const result = cli(['check', bad]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('FST_CONFIG_INVALID');
    expect(result.stderr).toMatch(new RegExp(`${bad}: sources\\.x\\.mode: `));
    expect(result.stderr).toMatch(new RegExp(`${bad}: sinks\\.s\\.max_len: `));
    expect(result.stderr).toMatch(/unknown key\(s\) "extra"/);
  });

  it('run refuses an invalid --udp value with a usage message', () => {
    const { code, stderr } = cli(['run', '--udp', 'not-an-address']);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/expected HOST:PORT/);
  });
});
