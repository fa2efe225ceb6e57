import { describe, expect, it } from 'vitest';
import {
  createAllowMatcher,
  formatPeer,
  ipv4ToInt,
  ipv6ToBigInt,
  normalizePeerAddress,
  parseCidr,
} from '../../../src/sources/syslog/allow-from.js';

describe('allow_from CIDR matcher', () => {
  it('an empty list allows everyone', () => {
    const matcher = createAllowMatcher([]);
    expect(matcher.allows('203.0.113.9')).toBe(true);
    expect(matcher.allows('2001:db8::1')).toBe(true);
  });

  it('IPv4 CIDRs, including the network edges', () => {
    const matcher = createAllowMatcher(['10.0.0.0/8', '192.168.1.0/24']);
    expect(matcher.allows('10.0.0.0')).toBe(true);
    expect(matcher.allows('10.255.255.255')).toBe(true);
    expect(matcher.allows('11.0.0.0')).toBe(false);
    expect(matcher.allows('9.255.255.255')).toBe(false);
    expect(matcher.allows('192.168.1.200')).toBe(true);
    expect(matcher.allows('192.168.2.1')).toBe(false);
    expect(matcher.allows('127.0.0.1')).toBe(false);
  });

  it('/32, a bare address, and /0', () => {
    const single = createAllowMatcher(['198.51.100.7/32', '203.0.113.5']);
    expect(single.allows('198.51.100.7')).toBe(true);
    expect(single.allows('198.51.100.8')).toBe(false);
    expect(single.allows('203.0.113.5')).toBe(true);
    expect(single.allows('203.0.113.4')).toBe(false);
    const all = createAllowMatcher(['0.0.0.0/0']);
    expect(all.allows('255.255.255.255')).toBe(true);
    expect(all.allows('0.0.0.0')).toBe(true);
    expect(all.allows('2001:db8::1')).toBe(false);
  });

  it('addresses above 2^31 (sign bit) match correctly', () => {
    const matcher = createAllowMatcher(['224.0.0.0/4', '255.255.255.255/32']);
    expect(matcher.allows('239.1.2.3')).toBe(true);
    expect(matcher.allows('255.255.255.255')).toBe(true);
    expect(matcher.allows('223.255.255.255')).toBe(false);
  });

  it('IPv6 CIDRs, /128 and /0', () => {
    const matcher = createAllowMatcher(['2001:db8::/32', '::1/128', 'fe80::1']);
    expect(matcher.allows('2001:db8:ffff::1')).toBe(true);
    expect(matcher.allows('2001:db9::1')).toBe(false);
    expect(matcher.allows('::1')).toBe(true);
    expect(matcher.allows('::2')).toBe(false);
    expect(matcher.allows('fe80::1')).toBe(true);
    expect(matcher.allows('fe80::1%eth0')).toBe(true);
    expect(matcher.allows('10.0.0.1')).toBe(false);
    const all = createAllowMatcher(['::/0']);
    expect(all.allows('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(true);
  });

  it('IPv4-mapped IPv6 peers match IPv4 rules, and IPv4 peers match mapped IPv6 rules', () => {
    const v4rules = createAllowMatcher(['10.0.0.0/8']);
    expect(v4rules.allows('::ffff:10.1.2.3')).toBe(true);
    expect(v4rules.allows('::FFFF:10.1.2.3')).toBe(true);
    expect(v4rules.allows('::ffff:11.1.2.3')).toBe(false);
    const mappedRule = createAllowMatcher(['::ffff:192.168.0.0/112']);
    expect(mappedRule.allows('192.168.77.1')).toBe(true);
    expect(mappedRule.allows('::ffff:192.168.77.1')).toBe(true);
    expect(mappedRule.allows('192.169.0.1')).toBe(false);
  });

  it('garbage peer addresses are refused, not thrown', () => {
    const matcher = createAllowMatcher(['0.0.0.0/0', '::/0']);
    expect(matcher.allows('')).toBe(false);
    expect(matcher.allows('not-an-ip')).toBe(false);
  });

  it('the cache does not change verdicts', () => {
    const matcher = createAllowMatcher(['10.0.0.0/8']);
    for (let i = 0; i < 10_000; i++) {
      const ip = `${i % 2 === 0 ? 10 : 11}.0.${(i >> 8) & 255}.${i & 255}`;
      expect(matcher.allows(ip)).toBe(i % 2 === 0);
    }
  });

  it('parseCidr rejects invalid input with a message', () => {
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0/8', '300.1.1.1', '10.0.0.0/', '10.0.0.0/a', 'fe80::1%eth0', 'host.example', '', '1.2.3.4/-1']) {
      expect(typeof parseCidr(bad), bad).toBe('string');
    }
    expect(() => createAllowMatcher(['10.0.0.0/33'])).toThrow(/allow_from/);
    expect(parseCidr('10.1.2.3/8')).toMatchObject({ family: 4, network: 0x0a000000, mask: 0xff000000 });
    expect(parseCidr('2001:db8::/32')).toMatchObject({ family: 6, network: 0x20010db8n << 96n });
  });

  it('address parsing helpers', () => {
    expect(ipv4ToInt('1.2.3.4')).toBe(0x01020304);
    expect(ipv4ToInt('255.255.255.255')).toBe(0xffffffff);
    expect(ipv4ToInt('01.2.3.4')).toBe(-1);
    expect(ipv4ToInt('1.2.3')).toBe(-1);
    expect(ipv4ToInt('1.2.3.4.5')).toBe(-1);
    expect(ipv6ToBigInt('::')).toBe(0n);
    expect(ipv6ToBigInt('::1')).toBe(1n);
    expect(ipv6ToBigInt('1::')).toBe(1n << 112n);
    expect(ipv6ToBigInt('::ffff:1.2.3.4')).toBe((0xffffn << 32n) | 0x01020304n);
    expect(ipv6ToBigInt('1:2:3:4:5:6:7:8')).toBe(0x00010002000300040005000600070008n);
    expect(ipv6ToBigInt('1.2.3.4')).toBeUndefined();
  });

  it('peer formatting normalises IPv4-mapped addresses and brackets IPv6', () => {
    expect(normalizePeerAddress('::ffff:1.2.3.4')).toBe('1.2.3.4');
    expect(normalizePeerAddress('::ffff:abcd')).toBe('::ffff:abcd');
    expect(formatPeer('::ffff:192.0.2.1', 514)).toBe('192.0.2.1:514');
    expect(formatPeer('192.0.2.1', 50000)).toBe('192.0.2.1:50000');
    expect(formatPeer('2001:db8::1', 6514)).toBe('[2001:db8::1]:6514');
  });
});
