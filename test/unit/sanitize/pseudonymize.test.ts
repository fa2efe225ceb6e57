import { describe, expect, it } from 'vitest';
import {
  createPseudonymizer,
  liveKeyIds,
  normalizeEntity,
  pseudonymize,
  pseudonymizeAll,
  type Keyring,
} from '../../../src/sanitize/pseudonymize.js';

function keyring(current: string, keys: Record<string, { fill: number; notAfterMs?: number }>): Keyring {
  return {
    current,
    keys: new Map(Object.entries(keys).map(([kid, k]) => [kid, { secret: Buffer.alloc(32, k.fill), ...(k.notAfterMs === undefined ? {} : { notAfterMs: k.notAfterMs }) }])),
  };
}

const ml = keyring('k1', { k1: { fill: 1 } });
const agent = keyring('k1', { k1: { fill: 2 } });

describe('pseudonymize', () => {
  it('has the form kid:22 base64url characters and is stable under one key', () => {
    const a = pseudonymize(ml, 'user', 'alice');
    expect(a).toMatch(/^k1:[A-Za-z0-9_-]{22}$/);
    expect(pseudonymize(ml, 'user', 'alice')).toBe(a);
  });

  it('differs per kind (domain separation), per key and per profile keyring', () => {
    expect(pseudonymize(ml, 'user', '10.1.2.3')).not.toBe(pseudonymize(ml, 'ip', '10.1.2.3'));
    expect(pseudonymize(ml, 'user', 'alice')).not.toBe(pseudonymize(agent, 'user', 'alice'));
    const sameSecretOtherKid = keyring('k9', { k9: { fill: 1 } });
    expect(pseudonymize(sameSecretOtherKid, 'user', 'alice')?.split(':')[0]).toBe('k9');
  });

  it('normalizes IP forms to one pseudonym', () => {
    const forms = ['2001:db8::1', '2001:DB8:0:0:0:0:0:1', '2001:0db8:0000::0001', '[2001:db8::1]'];
    const pseudonyms = new Set(forms.map((f) => pseudonymize(ml, 'ip', f)));
    expect(pseudonyms.size).toBe(1);
    expect(pseudonymize(ml, 'ip', '::ffff:10.1.2.3')).toBe(pseudonymize(ml, 'ip', '10.1.2.3'));
    expect(pseudonymize(ml, 'ip', 'not-an-ip')).toBeUndefined();
  });

  it('gives networks (/24, /64) their own pseudonym', () => {
    expect(pseudonymize(ml, 'net', '10.1.2.3')).toBe(pseudonymize(ml, 'net', '10.1.2.200'));
    expect(pseudonymize(ml, 'net', '10.1.2.3')).toBe(pseudonymize(ml, 'net', '10.1.2.0/24'));
    expect(pseudonymize(ml, 'net', '10.1.2.3')).not.toBe(pseudonymize(ml, 'net', '10.1.3.3'));
    expect(pseudonymize(ml, 'net', '2001:db8:1:2::5')).toBe(pseudonymize(ml, 'net', '2001:db8:1:2:ffff::1'));
    expect(pseudonymize(ml, 'net', '10.1.2.3')).not.toBe(pseudonymize(ml, 'ip', '10.1.2.0'));
  });

  it('treats user names case-insensitively (NFKC, trimmed)', () => {
    expect(pseudonymize(ml, 'user', ' Alice ')).toBe(pseudonymize(ml, 'user', 'alice'));
    expect(pseudonymize(ml, 'user', 'ＡＬＩＣＥ')).toBe(pseudonymize(ml, 'user', 'alice'));
    expect(normalizeEntity('device', 'fgt60f123')).toBe('FGT60F123');
    expect(normalizeEntity('mac', '00-11-22-AA-BB-CC')).toBe('00:11:22:aa:bb:cc');
  });
});

describe('rotation', () => {
  const day = 86_400_000;
  const rotated = keyring('k2', { k1: { fill: 1, notAfterMs: 10 * day }, k2: { fill: 3 } });

  it('changes pseudonyms after rotation', () => {
    expect(pseudonymize(rotated, 'user', 'alice')).not.toBe(pseudonymize(ml, 'user', 'alice'));
    expect(pseudonymize(rotated, 'user', 'alice')?.startsWith('k2:')).toBe(true);
  });

  it('pseudonymizeAll returns current and old key within the overlap, only current after', () => {
    const within = pseudonymizeAll(rotated, 'user', 'alice', 5 * day);
    expect(within.map((p) => p.kid)).toEqual(['k2', 'k1']);
    expect(within[0]).toMatchObject({ current: true, pseudonym: pseudonymize(rotated, 'user', 'alice') });
    expect(within[1]).toMatchObject({ current: false, pseudonym: pseudonymize(ml, 'user', 'alice'), notAfterMs: 10 * day });
    expect(pseudonymizeAll(rotated, 'user', 'alice', 11 * day).map((p) => p.kid)).toEqual(['k2']);
    expect(liveKeyIds(rotated, 10 * day)).toEqual(['k2', 'k1']);
  });
});

describe('createPseudonymizer', () => {
  it('caches per keyring, bounded, with the same results as pseudonymize', () => {
    const cached = createPseudonymizer({ cacheSize: 3 });
    for (const name of ['a', 'b', 'c', 'd', 'a']) expect(cached.pseudonymize(ml, 'user', name)).toBe(pseudonymize(ml, 'user', name));
    expect(cached.cachedEntries(ml)).toBeLessThanOrEqual(3);
    expect(cached.cachedEntries(agent)).toBe(0);
    expect(cached.pseudonymize(agent, 'user', 'a')).toBe(pseudonymize(agent, 'user', 'a'));
    expect(cached.pseudonymize(ml, 'ip', 'bogus')).toBeUndefined();
    expect(cached.pseudonymize(ml, 'ip', 'bogus')).toBeUndefined();
  });

  it('a reloaded keyring (new object) never serves the old cache', () => {
    const cached = createPseudonymizer();
    const before = cached.pseudonymize(ml, 'user', 'alice');
    const reloaded = keyring('k1', { k1: { fill: 9 } });
    expect(cached.pseudonymize(reloaded, 'user', 'alice')).not.toBe(before);
  });
});
