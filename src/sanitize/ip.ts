/**
 * IP address literals: canonical forms (for pseudonyms that do not depend on how a device wrote an
 * address) and a linear scanner that finds IPv4/IPv6 literals inside free text.
 *
 * Canonical forms: IPv4 dotted decimal without leading zeros; IPv6 per RFC 5952 (lowercase, leading
 * zeros dropped, the longest run of ≥2 zero groups compressed to `::`); IPv4-mapped IPv6
 * (`::ffff:a.b.c.d`) becomes the IPv4 address. A zone (`%eth0`) is dropped.
 */

/** Parses dotted-decimal IPv4 (leading zeros allowed, read as decimal) into 4 octets. */
export function parseIPv4(text: string): [number, number, number, number] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const octets: number[] = [];
  for (const part of parts) {
    if (part.length === 0 || part.length > 3) return undefined;
    let value = 0;
    for (let i = 0; i < part.length; i += 1) {
      const digit = part.charCodeAt(i) - 0x30;
      if (digit < 0 || digit > 9) return undefined;
      value = value * 10 + digit;
    }
    if (value > 255) return undefined;
    octets.push(value);
  }
  return octets as [number, number, number, number];
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  return -1;
}

/** Parses an IPv6 literal (with optional embedded IPv4 tail, optional `%zone`) into 8 groups. */
export function parseIPv6(input: string): number[] | undefined {
  const zone = input.indexOf('%');
  const text = zone >= 0 ? input.slice(0, zone) : input;
  if (text.length < 2 || text.length > 45) return undefined;
  const doubleColon = text.indexOf('::');
  if (doubleColon >= 0 && text.indexOf('::', doubleColon + 1) >= 0) return undefined;
  const parseSide = (side: string): number[] | undefined => {
    if (side === '') return [];
    const pieces = side.split(':');
    const groups: number[] = [];
    for (let p = 0; p < pieces.length; p += 1) {
      const piece = pieces[p] as string;
      if (piece.includes('.')) {
        if (p !== pieces.length - 1) return undefined;
        const v4 = parseIPv4(piece);
        if (!v4) return undefined;
        groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
        continue;
      }
      if (piece.length === 0 || piece.length > 4) return undefined;
      let value = 0;
      for (let i = 0; i < piece.length; i += 1) {
        const digit = hexValue(piece.charCodeAt(i));
        if (digit < 0) return undefined;
        value = value * 16 + digit;
      }
      groups.push(value);
    }
    return groups;
  };
  if (doubleColon < 0) {
    const groups = parseSide(text);
    return groups && groups.length === 8 ? groups : undefined;
  }
  const head = parseSide(text.slice(0, doubleColon));
  const tailText = text.slice(doubleColon + 2);
  const tail = parseSide(tailText);
  if (!head || !tail) return undefined;
  if (head.length + tail.length > 7) return undefined;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

function formatIPv6(groups: readonly number[]): string {
  // RFC 5952: compress the longest run (≥2) of zero groups, the first one on ties.
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestLength < 2) return groups.map((g) => g.toString(16)).join(':');
  const head = groups.slice(0, bestStart).map((g) => g.toString(16)).join(':');
  const tail = groups.slice(bestStart + bestLength).map((g) => g.toString(16)).join(':');
  return `${head}::${tail}`;
}

function isV4Mapped(groups: readonly number[]): boolean {
  return groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff;
}

export interface CanonicalIp {
  readonly version: 4 | 6;
  /** Canonical text (see the module comment). */
  readonly address: string;
  /** The network the address belongs to: IPv4 /24 or IPv6 /64, as `prefix/len`. */
  readonly network: string;
}

/** Canonical form of an IP literal (`[…]` brackets and a `%zone` tolerated), or undefined. */
export function canonicalizeIp(input: string): CanonicalIp | undefined {
  let text = input.trim();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  if (!text.includes(':')) {
    const v4 = parseIPv4(text);
    if (!v4) return undefined;
    return { version: 4, address: v4.join('.'), network: `${v4[0]}.${v4[1]}.${v4[2]}.0/24` };
  }
  const groups = parseIPv6(text);
  if (!groups) return undefined;
  if (isV4Mapped(groups)) {
    const g6 = groups[6] ?? 0;
    const g7 = groups[7] ?? 0;
    const octets = [g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff];
    return { version: 4, address: octets.join('.'), network: `${octets[0]}.${octets[1]}.${octets[2]}.0/24` };
  }
  const network = formatIPv6([...groups.slice(0, 4), 0, 0, 0, 0]);
  return { version: 6, address: formatIPv6(groups), network: `${network}/64` };
}

/**
 * Canonical form of a network prefix `a.b.c.d/24` or `x:x:x:x::/64` (the host bits are cleared),
 * or of an address given instead (its /24 or /64). Other prefix lengths are refused: pseudonyms
 * are only made for /24 and /64 so the same network always gets the same pseudonym.
 */
export function canonicalizeNetwork(input: string): string | undefined {
  const slash = input.indexOf('/');
  if (slash < 0) return canonicalizeIp(input)?.network;
  const length = input.slice(slash + 1).trim();
  const ip = canonicalizeIp(input.slice(0, slash));
  if (!ip) return undefined;
  if ((ip.version === 4 && length !== '24') || (ip.version === 6 && length !== '64')) return undefined;
  return ip.network;
}

export interface IpMatch {
  readonly start: number;
  readonly end: number;
  readonly ip: CanonicalIp;
}

function isHexCode(code: number): boolean {
  return hexValue(code) >= 0;
}

function isDigitCode(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** Longest IPv6 literal starting at `start`, trying shorter candidates that end at a group edge. */
function matchIPv6At(text: string, start: number): IpMatch | undefined {
  const limit = Math.min(text.length, start + 45);
  let end = start;
  while (end < limit) {
    const code = text.charCodeAt(end);
    if (isHexCode(code) || code === 0x3a || code === 0x2e) end += 1;
    else break;
  }
  for (let candidateEnd = end; candidateEnd > start + 1; candidateEnd -= 1) {
    const next = text.charCodeAt(candidateEnd);
    // A candidate must end where a group ends: not followed by a hex digit of the same group.
    if (candidateEnd < text.length && isHexCode(next) && candidateEnd !== end) continue;
    const last = text.charCodeAt(candidateEnd - 1);
    if (last === 0x2e || (last === 0x3a && text.charCodeAt(candidateEnd - 2) !== 0x3a)) continue;
    const candidate = text.slice(start, candidateEnd);
    if (!candidate.includes(':')) return undefined;
    const ip = canonicalizeIp(candidate);
    if (ip) return { start, end: candidateEnd, ip };
  }
  return undefined;
}

function matchIPv4At(text: string, start: number): IpMatch | undefined {
  let i = start;
  for (let octet = 0; octet < 4; octet += 1) {
    if (octet > 0) {
      if (text.charCodeAt(i) !== 0x2e) return undefined;
      i += 1;
    }
    const digitsStart = i;
    while (i < text.length && i - digitsStart < 3 && isDigitCode(text.charCodeAt(i))) i += 1;
    if (i === digitsStart) return undefined;
  }
  if (isDigitCode(text.charCodeAt(i))) return undefined;
  const ip = canonicalizeIp(text.slice(start, i));
  return ip ? { start, end: i, ip } : undefined;
}

/**
 * Finds IPv4 and IPv6 literals in `text`, left to right, non-overlapping. Linear: candidates start
 * only at token edges and each attempt looks at most 45 characters ahead.
 */
export function findIpLiterals(text: string): IpMatch[] {
  const matches: IpMatch[] = [];
  const length = text.length;
  let i = 0;
  while (i < length) {
    const code = text.charCodeAt(i);
    const previous = i > 0 ? text.charCodeAt(i - 1) : 0;
    // IPv6 candidates start at a hex digit or colon not preceded by a hex digit (a preceding colon
    // is allowed, so `user:fe80::1` is found after a failed attempt at `:fe80::1`).
    if ((isHexCode(code) || code === 0x3a) && !isHexCode(previous)) {
      // IPv6 first: `::ffff:10.1.2.3` must not be taken as the IPv4 inside it.
      const v6 = matchIPv6At(text, i);
      if (v6) {
        matches.push(v6);
        i = v6.end;
        continue;
      }
    }
    if (isDigitCode(code) && !isDigitCode(previous) && previous !== 0x2e) {
      const v4 = matchIPv4At(text, i);
      if (v4) {
        matches.push(v4);
        i = v4.end;
        continue;
      }
    }
    i += 1;
  }
  return matches;
}

/** Replaces every IP literal in `text` with `replacement(ip)`; returns `text` itself when none. */
export function replaceIpLiterals(text: string, replacement: (ip: CanonicalIp) => string): string {
  if (!mayContainIp(text)) return text;
  const matches = findIpLiterals(text);
  if (matches.length === 0) return text;
  let out = '';
  let last = 0;
  for (const match of matches) {
    out += text.slice(last, match.start) + replacement(match.ip);
    last = match.end;
  }
  return out + text.slice(last);
}

/** Cheap pre-check: an IP literal needs a digit and a `.` or `:`. */
export function mayContainIp(text: string): boolean {
  let digit = false;
  let separator = false;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (isDigitCode(code)) digit = true;
    else if (code === 0x2e || code === 0x3a) separator = true;
    if (digit && separator) return true;
  }
  return false;
}
