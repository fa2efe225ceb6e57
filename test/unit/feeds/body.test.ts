import { describe, expect, it } from 'vitest';
import { isListAddress } from '../../../src/feeds/address-lists.js';
import { addressSortKey, entityTag, ifNoneMatchHits, renderFeed, sortAddresses } from '../../../src/feeds/body.js';

describe('feed bodies', () => {
  it('sorts numerically, IPv4 before IPv6, drops duplicates and non-addresses, whatever the input order', () => {
    const input = ['10.0.0.10', '2001:db8::1', '10.0.0.9', '9.255.255.255', '::ffff:10.0.0.1', 'not-an-ip', '10.0.0.9', '10.0.0.0/8', '2001:db8::', '', '10.0.0.9/32'];
    const expected = ['9.255.255.255', '10.0.0.0/8', '10.0.0.9/32', '10.0.0.9', '10.0.0.10', '::ffff:10.0.0.1', '2001:db8::', '2001:db8::1'];
    expect(sortAddresses(input)).toEqual(expected);
    expect(sortAddresses([...input].reverse())).toEqual(expected);
    expect(addressSortKey('::1')).toBe(`6${'0'.repeat(31)}1/999`);
    expect(addressSortKey('2001:DB8::1')).toBe(addressSortKey('2001:db8:0:0:0:0:0:1'));
  });

  it('accepts addresses and subnets only', () => {
    expect(['10.1.2.3', '::1', '10.0.0.0/8', '2001:db8::/32'].every(isListAddress)).toBe(true);
    expect(['10.1.2', '10.0.0.0/33', '::/129', '10.0.0.0/', 'x', '10.0.0.1/08a', ''].some(isListAddress)).toBe(false);
  });

  it('renders one address per line and cuts at a line boundary within max_bytes', () => {
    const full = renderFeed(['10.0.0.2', '10.0.0.1', '10.0.0.3'], 1000);
    expect(full.body.toString()).toBe('10.0.0.1\n10.0.0.2\n10.0.0.3\n');
    expect(full).toMatchObject({ total: 3, truncated: false, addresses: ['10.0.0.1', '10.0.0.2', '10.0.0.3'] });
    // 9 bytes per line: 26 bytes hold two lines, 27 hold three
    const cut = renderFeed(['10.0.0.2', '10.0.0.1', '10.0.0.3'], 26);
    expect(cut.body.toString()).toBe('10.0.0.1\n10.0.0.2\n');
    expect(cut).toMatchObject({ total: 3, truncated: true });
    expect(renderFeed(['10.0.0.2', '10.0.0.1', '10.0.0.3'], 27).truncated).toBe(false);
    const empty = renderFeed([], 100);
    expect(empty.body.length).toBe(0);
    expect(empty.etag).toBe(entityTag(Buffer.alloc(0)));
  });

  it('tags equal bodies equally and different bodies differently', () => {
    expect(renderFeed(['10.0.0.1', '10.0.0.2'], 100).etag).toBe(renderFeed(['10.0.0.2', '10.0.0.1'], 100).etag);
    expect(renderFeed(['10.0.0.1'], 100).etag).not.toBe(renderFeed(['10.0.0.2'], 100).etag);
    expect(renderFeed(['10.0.0.1'], 100).etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
  });

  it('matches If-None-Match lists, weak tags and *', () => {
    const tag = '"abc"';
    expect(ifNoneMatchHits(undefined, tag)).toBe(false);
    expect(ifNoneMatchHits('"abc"', tag)).toBe(true);
    expect(ifNoneMatchHits('W/"abc"', tag)).toBe(true);
    expect(ifNoneMatchHits('"x", "abc"', tag)).toBe(true);
    expect(ifNoneMatchHits('*', tag)).toBe(true);
    expect(ifNoneMatchHits('"abcd"', tag)).toBe(false);
  });
});
