import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { planCounterCalls, type CounterSpec } from '../../../src/state/counters.js';
import { createStateKeys, normalizeUserForIndex } from '../../../src/state/keys.js';
import { STORED_SESSION_FIELDS } from '../../../src/state/session-model.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const failed: CounterSpec = { name: 'failed_logins_by_user', windowSeconds: 60, bucketSeconds: 10, threshold: 5 };
const bytes: CounterSpec = { name: 'bytes_by_user', windowSeconds: 300, bucketSeconds: 60 };

describe('planCounterCalls', () => {
  it('combines the same (counter, key, bucket) into one entry and one call per (counter, key)', () => {
    const plan = planCounterCalls(
      [
        { counter: failed, key: 'alice', timeMs: T0 + 3_000 },
        { counter: failed, key: 'alice', timeMs: T0 + 1_000 },
        { counter: failed, key: 'alice', timeMs: T0 + 9_999 },
        { counter: failed, key: 'alice', timeMs: T0 + 10_000 },
        { counter: failed, key: 'bob', timeMs: T0 + 2_000 },
        { counter: bytes, key: 'alice', timeMs: T0 + 2_000, increment: 1500 },
        { counter: bytes, key: 'alice', timeMs: T0 + 4_000, increment: 500 },
      ],
      T0,
    );
    expect(plan.map((c) => [c.spec.name, c.key, c.buckets.size])).toEqual([
      ['failed_logins_by_user', 'alice', 2],
      ['failed_logins_by_user', 'bob', 1],
      ['bytes_by_user', 'alice', 1],
    ]);
    // now raised to the newest event; window, bucket, threshold, lateness, n, then 4 values per bucket,
    // then the replay pair (no batch sequence given: no check).
    expect(plan[0]?.argv).toEqual([T0 + 10_000, 60_000, 10_000, 5, 0, 2, T0, 3, T0 + 1_000, T0 + 9_999, T0 + 10_000, 1, T0 + 10_000, T0 + 10_000, '', 0]);
    expect(plan[2]?.argv.slice(5)).toEqual([1, T0, 2000, T0 + 2_000, T0 + 4_000, '', 0]);
  });

  it('rejects a window that is not a multiple of the bucket, and bad names', () => {
    expect(() => planCounterCalls([{ counter: { name: 'x', windowSeconds: 65, bucketSeconds: 10 }, key: 'k', timeMs: T0 }], T0)).toThrow(RangeError);
    expect(() => planCounterCalls([{ counter: { name: 'a|b', windowSeconds: 60, bucketSeconds: 10 }, key: 'k', timeMs: T0 }], T0)).toThrow(RangeError);
    expect(() => planCounterCalls([{ counter: failed, key: 'k', timeMs: T0, increment: 0.5 }], T0)).toThrow(RangeError);
  });
});

describe('state keys', () => {
  it('puts every identity key under the audit stream as hash tag, and counters under their own tag', () => {
    const keys = createStateKeys();
    expect(keys.auditStream).toBe('fortistream:audit');
    expect(keys.session('abc')).toBe('fortistream:{fortistream:audit}:session:abc');
    expect(keys.ipIndex).toBe('fortistream:{fortistream:audit}:ip');
    expect(keys.userIndex).toBe('fortistream:{fortistream:audit}:user');
    expect(keys.userIndexField('ÄLICE@Corp')).toBe('Älice@corp');
    expect(keys.deviceIndex('FGT-A')).toBe('fortistream:{fortistream:audit}:device:FGT-A');
    expect(keys.addressIndex('FGT-A')).toBe('fortistream:{fortistream:audit}:addr:FGT-A');
    expect(keys.addressIndexField('sslvpn', '10.212.0.9')).toBe('sslvpn|10.212.0.9');
    expect(keys.counterBuckets('failed', 'a}b')).toBe('fortistream:counter:{failed|a}b}');
    expect(keys.counterAlert('failed', 'a}b')).toBe('fortistream:counter:{failed|a}b}:alert');
    expect(keys.counterKeyFromBucketsKey('failed', keys.counterBuckets('failed', 'a}b'))).toBe('a}b');
    expect(keys.counterScanPattern('f*')).toBe('fortistream:counter:{f\\*|*}');
    expect(normalizeUserForIndex('Bob.SMITH')).toBe('bob.smith');
  });

  it('refuses an audit stream name with braces', () => {
    expect(() => createStateKeys({ auditStream: 'x{y}' })).toThrow(/braces/);
  });
});

describe('stored session field names', () => {
  it('are the same table in TypeScript and in the Lua include', () => {
    const lua = readFileSync(new URL('../../../src/state/lua/includes/session-common.lua', import.meta.url), 'utf8');
    const block = /local STORED = \{([^}]*)\}/.exec(lua)?.[1] ?? '';
    const fromLua = Object.fromEntries([...block.matchAll(/(\w+) = '(\w+)'/g)].map((m) => [m[1], m[2]]));
    expect(fromLua).toEqual(STORED_SESSION_FIELDS);
    expect(new Set(Object.values(STORED_SESSION_FIELDS)).size).toBe(Object.keys(STORED_SESSION_FIELDS).length);
  });
});
