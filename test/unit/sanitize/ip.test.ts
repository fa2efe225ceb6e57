import { describe, expect, it } from 'vitest';
import { canonicalizeIp, canonicalizeNetwork, findIpLiterals, replaceIpLiterals } from '../../../src/sanitize/ip.js';

describe('canonicalizeIp', () => {
  it.each([
    ['10.1.2.3', '10.1.2.3', '10.1.2.0/24'],
    ['010.001.002.003', '10.1.2.3', '10.1.2.0/24'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1', '2001:db8::/64'],
    ['2001:0db8::0001', '2001:db8::1', '2001:db8::/64'],
    ['[2001:db8::1]', '2001:db8::1', '2001:db8::/64'],
    ['fe80::1%eth0', 'fe80::1', 'fe80::/64'],
    ['::ffff:10.1.2.3', '10.1.2.3', '10.1.2.0/24'],
    ['::ffff:0a01:0203', '10.1.2.3', '10.1.2.0/24'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', '2001:db8::/64'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0', '1:2:3:4::/64'],
  ])('%s → %s', (input, address, network) => {
    expect(canonicalizeIp(input)).toMatchObject({ address, network });
  });

  it.each(['256.1.1.1', '1.2.3', '1:2:3', '2001:db8::1::2', '12:30:45', 'abc', '00:11:22:33:44:55'])('rejects %s', (input) => {
    expect(canonicalizeIp(input)).toBeUndefined();
  });

  it('canonicalizes /24 and /64 networks only', () => {
    expect(canonicalizeNetwork('10.1.2.77/24')).toBe('10.1.2.0/24');
    expect(canonicalizeNetwork('2001:db8:1:2:3::4/64')).toBe('2001:db8:1:2::/64');
    expect(canonicalizeNetwork('10.1.2.3')).toBe('10.1.2.0/24');
    expect(canonicalizeNetwork('10.0.0.0/8')).toBeUndefined();
  });
});

describe('findIpLiterals', () => {
  it.each([
    ['Login from 10.1.2.3 failed', ['10.1.2.3']],
    ['ssh(10.0.0.1)', ['10.0.0.1']],
    ['http://10.1.2.3:8080/p', ['10.1.2.3']],
    ['[2001:db8::5]:443', ['2001:db8::5']],
    ['addr:fe80::1 x', ['fe80::1']],
    ['abcdef1234:2001:db8::1', ['2001:db8::1']],
    ['2001:db8::1: failed', ['2001:db8::1']],
    ['x ::ffff:10.9.9.9 y', ['10.9.9.9']],
    ['a10.1.2.3.', ['10.1.2.3']],
    ['at 12:30:45, mac 00:11:22:33:44:55, build v7.2.3.1234', []],
  ])('%s', (text, expected) => {
    expect(findIpLiterals(text).map((m) => m.ip.address)).toEqual(expected);
  });

  it('replaces literals and returns clean text as is', () => {
    expect(replaceIpLiterals('from 10.1.2.3 and 2001:db8::1', (ip) => `<${ip.version}>`)).toBe('from <4> and <6>');
    const clean = 'nothing here';
    expect(replaceIpLiterals(clean, () => 'x')).toBe(clean);
  });

  it('is linear on adversarial input', () => {
    const started = performance.now();
    findIpLiterals('1:'.repeat(30_000));
    findIpLiterals('1.'.repeat(30_000));
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
