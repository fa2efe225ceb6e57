import { describe, expect, it } from 'vitest';
import { deepEqual, diffPipelines, isUnchanged, summarizeDiff } from '../../../src/config/diff.js';
import { parsePipelineText } from '../../../src/config/load.js';

const BASE = `
redis: { key_prefix: "t:" }
sources:
  a: { type: syslog, mode: tcp, address: "127.0.0.1:0" }
  b: { type: syslog, mode: udp, address: "127.0.0.1:0" }
sinks:
  soc: { type: redis_streams }
sessions:
  timeout: { type: idle-timeout, seconds: 300 }
  rules:
    - { name: login, when: { event.code: "0102043008" }, do: open, method: firewall }
    - { name: logout, when: { event.code: "0102043040" }, do: close, method: firewall }
counters:
  - { name: denies, when: { event.action: deny }, key: [source.ip], window_seconds: 60, bucket_seconds: 10 }
`;

const parse = (text: string) => parsePipelineText(text, 'p.yaml', { env: {} });

describe('pipeline diff', () => {
  it('finds nothing between a file and itself, even with keys in another order', () => {
    const reordered = BASE.replace('{ type: syslog, mode: tcp, address: "127.0.0.1:0" }', '{ address: "127.0.0.1:0", mode: tcp, type: syslog }');
    const diff = diffPipelines(parse(BASE), parse(reordered));
    expect(isUnchanged(diff)).toBe(true);
    expect(summarizeDiff(diff)).toEqual({});
  });

  it('names added, removed and changed sources, counters, session rules, profiles and settings', () => {
    const next = parse(
      BASE.replace('b: { type: syslog, mode: udp, address: "127.0.0.1:0" }', 'c: { type: syslog, mode: udp, address: "127.0.0.1:0" }')
        .replace('mode: tcp, address: "127.0.0.1:0" }', 'mode: tcp, address: "127.0.0.1:0", idle_timeout_seconds: 5 }')
        .replace('seconds: 300', 'seconds: 60')
        .replace('- { name: logout, when: { event.code: "0102043040" }, do: close, method: firewall }', '- { name: logoff, when: { event.code: "0102043040" }, do: close, method: firewall }')
        .replace('window_seconds: 60, bucket_seconds: 10 }', 'window_seconds: 60, bucket_seconds: 10, threshold: 5 }\n  - { name: logins, when: { event.code: "0102043008" }, key: [user.name], window_seconds: 60, bucket_seconds: 60 }') +
        'profiles:\n  socview: { type: soc, stream: "events:socview" }\npipeline: { batch_max_events: 10 }\n',
    );
    const diff = diffPipelines(parse(BASE), next);
    expect(isUnchanged(diff)).toBe(false);
    expect(summarizeDiff(diff)).toEqual({
      added: { sources: ['c'], profiles: ['socview'], counters: ['logins'], session_rules: ['logoff'] },
      removed: { sources: ['b'], session_rules: ['logout'] },
      changed: { sources: ['a'], counters: ['denies'], settings: ['pipeline', 'sessions.timeout'] },
    });
  });

  it('reports redis, api and audit as needing a restart, without counting them as a change to apply', () => {
    const next = parse(BASE.replace('key_prefix: "t:"', 'key_prefix: "u:"') + 'audit: { stream: other }\n');
    const diff = diffPipelines(parse(BASE), next);
    expect(diff.restartNeeded).toEqual(['redis', 'audit']);
    expect(isUnchanged(diff)).toBe(true);
    expect(summarizeDiff(diff)).toEqual({ restart_needed: ['redis', 'audit'] });
  });

  it('notices the sessions section appearing or going as a whole', () => {
    const without = parse(BASE.slice(0, BASE.indexOf('sessions:')));
    const diff = diffPipelines(without, parse(BASE));
    expect(diff.settings).toEqual(['sessions', 'counters']);
    expect(diff.parts.session_rules.added).toEqual(['login', 'logout']);
  });

  it('compares values structurally', () => {
    expect(deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 3 }] })).toBe(false);
    expect(deepEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(deepEqual([1, 2], { 0: 1, 1: 2 })).toBe(false);
    expect(deepEqual({ a: 1 }, { b: 1 })).toBe(false);
  });
});
