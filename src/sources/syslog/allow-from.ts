import { isIPv4, isIPv6 } from 'node:net';

/**
 * `allow_from` matching: IPv4 and IPv6 CIDRs compiled once to integers (IPv4, uint32) and BigInts
 * (IPv6, 128 bits), so the per-packet check is a mask and a compare.
 *
 * IPv4-mapped IPv6 peers (`::ffff:10.1.2.3`, what a dual-stack `[::]` listener reports for IPv4
 * senders) are matched as the IPv4 address they carry. IPv4 peers are also tested against IPv6
 * rules in their mapped form, so `::ffff:10.0.0.0/104` admits `10.x.x.x` whichever way it arrives.
 */

const IPV4_MAPPED_PREFIX = '::ffff:';
const MAPPED_BASE = 0xffffn << 32n;
const ALL_ONES_128 = (1n << 128n) - 1n;

/** One compiled rule. */
export type CidrRule =
  | { readonly family: 4; readonly network: number; readonly mask: number; readonly text: string }
  | { readonly family: 6; readonly network: bigint; readonly mask: bigint; readonly text: string };

/** `::ffff:1.2.3.4` → `1.2.3.4`; anything else unchanged (zone ids are kept). */
export function normalizePeerAddress(address: string): string {
  if (address.length > 7 && address.charCodeAt(0) === 58 /* : */) {
    const head = address.slice(0, 7).toLowerCase();
    if (head === IPV4_MAPPED_PREFIX) {
      const tail = address.slice(7);
      if (isIPv4(tail)) return tail;
    }
  }
  return address;
}

/** `ip:port`, with IPv6 in brackets (`[2001:db8::1]:514`) so the port stays unambiguous. */
export function formatPeer(address: string | undefined, port: number | undefined): string {
  const ip = normalizePeerAddress(address ?? 'unknown');
  return ip.includes(':') ? `[${ip}]:${port ?? 0}` : `${ip}:${port ?? 0}`;
}

/** Dotted quad → uint32, or -1 when it is not one. No regex: this runs per UDP packet. */
export function ipv4ToInt(text: string): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      // A leading zero ("01") is refused, as node:net does.
      if (digits > 0 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      digits++;
      if (octet > 255) return -1;
    } else if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

/** IPv6 text (with optional `%zone`, optional embedded IPv4 tail) → 128-bit BigInt, or undefined. */
export function ipv6ToBigInt(input: string): bigint | undefined {
  const zone = input.indexOf('%');
  const text = zone >= 0 ? input.slice(0, zone) : input;
  if (!isIPv6(text)) return undefined;
  const groups: number[] = [];
  const parseSide = (side: string): number[] | undefined => {
    if (side === '') return [];
    const out: number[] = [];
    for (const part of side.split(':')) {
      if (part.includes('.')) {
        const v4 = ipv4ToInt(part);
        if (v4 < 0) return undefined;
        out.push(Math.floor(v4 / 65536), v4 % 65536);
      } else {
        out.push(Number.parseInt(part, 16));
      }
    }
    return out;
  };
  const doubleColon = text.indexOf('::');
  if (doubleColon >= 0) {
    const left = parseSide(text.slice(0, doubleColon));
    const right = parseSide(text.slice(doubleColon + 2));
    if (!left || !right) return undefined;
    groups.push(...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right);
  } else {
    const all = parseSide(text);
    if (!all) return undefined;
    groups.push(...all);
  }
  if (groups.length !== 8) return undefined;
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(group);
  return value;
}

/** Parses `10.0.0.0/8`, `192.168.1.7`, `2001:db8::/32`, `::1`; returns a message when invalid. */
export function parseCidr(text: string): CidrRule | string {
  const slash = text.indexOf('/');
  const addressText = slash >= 0 ? text.slice(0, slash) : text;
  const prefixText = slash >= 0 ? text.slice(slash + 1) : undefined;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) {
    return `"${text}": prefix length must be a number after "/"`;
  }
  if (isIPv4(addressText)) {
    const prefix = prefixText === undefined ? 32 : Number(prefixText);
    if (prefix > 32) return `"${text}": IPv4 prefix length must be 0–32`;
    // `>>> 0` keeps the mask unsigned; a /0 shift by 32 would be a no-op in JS, hence the special case.
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    const network = (ipv4ToInt(addressText) & mask) >>> 0;
    return { family: 4, network, mask, text };
  }
  const v6 = addressText.includes('%') ? undefined : ipv6ToBigInt(addressText);
  if (v6 !== undefined) {
    const prefix = prefixText === undefined ? 128 : Number(prefixText);
    if (prefix > 128) return `"${text}": IPv6 prefix length must be 0–128`;
    const mask = prefix === 0 ? 0n : (ALL_ONES_128 << BigInt(128 - prefix)) & ALL_ONES_128;
    return { family: 6, network: v6 & mask, mask, text };
  }
  return `"${text}" is not an IPv4/IPv6 address or CIDR (expected e.g. 10.0.0.0/8, 192.0.2.7, 2001:db8::/32)`;
}

/** Tells whether a peer address may send. */
export interface AllowMatcher {
  /** True when the list is empty (allow all) or the address falls in one of the CIDRs. */
  allows(address: string): boolean;
}

const CACHE_LIMIT = 4096;

/** Compiles the list once; throws on an invalid entry (the settings schema refuses those first). */
export function createAllowMatcher(cidrs: readonly string[]): AllowMatcher {
  if (cidrs.length === 0) return { allows: () => true };
  const v4: { network: number; mask: number }[] = [];
  const v6: { network: bigint; mask: bigint }[] = [];
  for (const text of cidrs) {
    const rule = parseCidr(text);
    if (typeof rule === 'string') throw new Error(`allow_from: ${rule}`);
    if (rule.family === 4) v4.push({ network: rule.network, mask: rule.mask });
    else v6.push({ network: rule.network, mask: rule.mask });
  }

  const matchV4 = (value: number): boolean => {
    for (const rule of v4) if (((value & rule.mask) >>> 0) === rule.network) return true;
    if (v6.length > 0) return matchV6(MAPPED_BASE | BigInt(value));
    return false;
  };
  const matchV6 = (value: bigint): boolean => {
    for (const rule of v6) if ((value & rule.mask) === rule.network) return true;
    return false;
  };
  const decide = (address: string): boolean => {
    const plain = normalizePeerAddress(address);
    const asV4 = ipv4ToInt(plain);
    if (asV4 >= 0) return matchV4(asV4);
    const asV6 = ipv6ToBigInt(plain);
    return asV6 !== undefined && matchV6(asV6);
  };

  // Senders are few and repeat; a small cache keeps the per-packet cost at one Map lookup.
  const cache = new Map<string, boolean>();
  return {
    allows(address) {
      const known = cache.get(address);
      if (known !== undefined) return known;
      const verdict = decide(address);
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(address, verdict);
      return verdict;
    },
  };
}
