/**
 * The text a FortiGate external connector reads: one address per line, in a stable order (numeric,
 * IPv4 before IPv6), cut at a line boundary to the feed's byte limit, with a strong ETag.
 */

import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { isListAddress } from './address-lists.js';

export interface RenderedFeed {
  /** The body as served. */
  readonly body: Buffer;
  /** Strong entity tag (quoted), a hash of the body. */
  readonly etag: string;
  /** The addresses served, in order. */
  readonly addresses: readonly string[];
  /** Distinct valid addresses before the cut. */
  readonly total: number;
  readonly truncated: boolean;
}

function ipv4Hex(text: string): string | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let hex = '';
  for (const part of parts) hex += Number(part).toString(16).padStart(2, '0');
  return hex;
}

/** The 32 hex digits of an IPv6 address (`::` expanded, an embedded IPv4 tail converted). */
function ipv6Hex(text: string): string | undefined {
  let address = text;
  const lastColon = address.lastIndexOf(':');
  if (address.includes('.')) {
    const tail = ipv4Hex(address.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    address = `${address.slice(0, lastColon + 1)}${tail.slice(0, 4)}:${tail.slice(4)}`;
  }
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  return [...head, ...new Array<string>(missing).fill('0'), ...tail].map((group) => group.toLowerCase().padStart(4, '0')).join('');
}

/** A string that sorts addresses numerically: IPv4 first, then IPv6, each by address then prefix. */
export function addressSortKey(entry: string): string {
  const slash = entry.indexOf('/');
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const prefix = slash < 0 ? '999' : entry.slice(slash + 1).padStart(3, '0');
  if (isIPv4(address)) return `4${ipv4Hex(address) ?? ''}/${prefix}`;
  if (isIPv6(address)) {
    const hex = ipv6Hex(address);
    if (hex !== undefined) return `6${hex}/${prefix}`;
  }
  return `9${entry}`;
}

/** An address with its sort key. */
export interface KeyedAddress {
  readonly key: string;
  readonly address: string;
}

/** The address with its sort key, or undefined when it is not a valid address or subnet. */
export function keyedAddress(address: string): KeyedAddress | undefined {
  return isListAddress(address) ? { key: addressSortKey(address), address } : undefined;
}

/** The order of feed bodies: by `addressSortKey`, ties by text, so the order is total. */
export function compareKeyed(a: KeyedAddress, b: KeyedAddress): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : a.address < b.address ? -1 : a.address > b.address ? 1 : 0;
}

/** Distinct valid addresses with their keys, sorted by `compareKeyed`. */
export function sortKeyed(addresses: Iterable<string>): KeyedAddress[] {
  const keyed: KeyedAddress[] = [];
  for (const address of new Set(addresses)) {
    const item = keyedAddress(address);
    if (item) keyed.push(item);
  }
  return keyed.sort(compareKeyed);
}

/** Distinct valid addresses, sorted by `addressSortKey` (ties by text, so the order is total). */
export function sortAddresses(addresses: Iterable<string>): string[] {
  return sortKeyed(addresses).map((item) => item.address);
}

export function entityTag(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

/** Sorts, cuts to `maxBytes` at a line boundary (every line ends with `\n`), tags. */
export function renderFeed(addresses: Iterable<string>, maxBytes: number): RenderedFeed {
  return renderSortedFeed(sortAddresses(addresses), maxBytes);
}

/** `renderFeed` for addresses already distinct, valid and in `sortAddresses` order (the group index keeps them so). */
export function renderSortedFeed(sorted: readonly string[], maxBytes: number): RenderedFeed {
  let bytes = 0;
  let served = 0;
  for (const address of sorted) {
    // addresses are ASCII: length is the byte count
    if (bytes + address.length + 1 > maxBytes) break;
    bytes += address.length + 1;
    served += 1;
  }
  const kept = served === sorted.length ? sorted : sorted.slice(0, served);
  const body = Buffer.from(kept.length > 0 ? `${kept.join('\n')}\n` : '', 'ascii');
  return { body, etag: entityTag(body), addresses: kept, total: sorted.length, truncated: served < sorted.length };
}

/** Whether an `If-None-Match` header value matches `etag` (weak comparison, as RFC 9110 asks for GET). */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const trimmed = header.trim();
  if (trimmed === '*') return true;
  const opaque = etag.startsWith('W/') ? etag.slice(2) : etag;
  return trimmed.split(',').some((candidate) => {
    const tag = candidate.trim();
    return (tag.startsWith('W/') ? tag.slice(2) : tag) === opaque;
  });
}
