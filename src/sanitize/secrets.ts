/**
 * Redacting secrets and contact data that show up in firewall logs (URLs with credentials, bearer
 * headers, API keys, e-mail addresses, card numbers): each match becomes `[redacted:<kind>]`.
 *
 * Every pattern is linear: regexes have no nested or overlapping quantifiers, and the shapes that
 * would need backtracking (e-mail addresses, URL user-info, digit runs) are scanned by hand.
 */

export type SecretKind =
  | 'url_credentials'
  | 'bearer'
  | 'basic_auth'
  | 'jwt'
  | 'aws_access_key'
  | 'github_token'
  | 'slack_token'
  | 'google_api_key'
  | 'stripe_key'
  | 'private_key'
  | 'credential_param'
  | 'email'
  | 'card_number';

export interface RedactionResult {
  readonly text: string;
  /** Kinds that were redacted, each once, in the order first seen. */
  readonly kinds: SecretKind[];
}

export function redactionMarker(kind: SecretKind): string {
  return `[redacted:${kind}]`;
}

/** Parameter names whose value is a credential (query strings, `name=value`, `name: value`, JSON). */
const CREDENTIAL_NAMES = [
  'password',
  'passwd',
  'passphrase',
  'pwd',
  'pass',
  'token',
  'api_key',
  'api-key',
  'apikey',
  'access_token',
  'refresh_token',
  'id_token',
  'auth_token',
  'client_secret',
  'secret',
  'secret_key',
  'private_key',
  'auth',
  'key',
  'x-api-key',
  'sig',
  'signature',
  'session',
  'sessionid',
  'session_id',
  'jsessionid',
  'phpsessid',
  'sid',
  'code',
] as const;

/**
 * Names so generic (`key`, `auth`, `code`, `sid`…) that outside a query string (`?`/`&`/`;` before
 * the name) the value must look like a token (≥ 8 characters with letters and digits).
 */
const GENERIC_NAMES: ReadonlySet<string> = new Set(['auth', 'key', 'code', 'sid', 'session', 'sig', 'signature']);

// `(^|[^a-z0-9_-])` keeps `monkey=` from matching `key=`; the value class cannot overlap the separator.
const CREDENTIAL_PARAM = new RegExp(
  `(^|[^a-z0-9_-])(${CREDENTIAL_NAMES.map((n) => n.replace(/-/g, '\\-')).join('|')})("?\\s{0,3}[=:]\\s{0,3}"?)([^\\s&#;,"'<>]+)`,
  'gi',
);

const BEARER = /\b(bearer)(\s{1,8})([A-Za-z0-9._~+/=-]{8,})/gi;
const BASIC = /\b(basic)(\s{1,8})([A-Za-z0-9+/]{8,}={0,2})/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;
const AWS_KEY = /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b/g;
const GITHUB = /\b(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{40,255})\b/g;
const SLACK = /\bxox[abposre]-[A-Za-z0-9-]{10,200}/g;
const GOOGLE = /\bAIza[0-9A-Za-z_-]{35}\b/g;
const STRIPE = /\b[rsp]k_(?:live|test)_[0-9A-Za-z]{16,200}\b/g;
const PRIVATE_KEY = /-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----[^-]{0,10000}(?:-----END [A-Z ]{0,40}PRIVATE KEY-----)?/g;

class KindList {
  readonly kinds: SecretKind[] = [];
  add(kind: SecretKind): void {
    if (!this.kinds.includes(kind)) this.kinds.push(kind);
  }
}

function isEmailLocalChar(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) ||
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x30 && code <= 0x39) ||
    code === 0x2e ||
    code === 0x5f ||
    code === 0x25 ||
    code === 0x2b ||
    code === 0x2d ||
    code === 0x27
  );
}

function isDomainChar(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code === 0x2e || code === 0x2d;
}

/** E-mail addresses, found from each `@` outwards (linear, unlike a regex anchored on the local part). */
function redactEmails(text: string, kinds: KindList): string {
  let at = text.indexOf('@');
  if (at < 0) return text;
  let out = '';
  let last = 0;
  while (at >= 0) {
    let start = at;
    while (start > last && isEmailLocalChar(text.charCodeAt(start - 1))) start -= 1;
    let end = at + 1;
    while (end < text.length && isDomainChar(text.charCodeAt(end))) end += 1;
    // trim trailing dots/hyphens of the domain (end of sentence)
    while (end > at + 1 && (text.charCodeAt(end - 1) === 0x2e || text.charCodeAt(end - 1) === 0x2d)) end -= 1;
    const domain = text.slice(at + 1, end);
    const dot = domain.lastIndexOf('.');
    const tld = dot >= 0 ? domain.slice(dot + 1) : '';
    if (start < at && dot > 0 && tld.length >= 2 && /^[A-Za-z]+$/.test(tld)) {
      out += text.slice(last, start) + redactionMarker('email');
      kinds.add('email');
      last = end;
      at = text.indexOf('@', end);
    } else {
      at = text.indexOf('@', at + 1);
    }
  }
  return last === 0 ? text : out + text.slice(last);
}

/** `scheme://user:password@host` → `scheme://[redacted:url_credentials]@host`. */
function redactUrlCredentials(text: string, kinds: KindList): string {
  let marker = text.indexOf('://');
  if (marker < 0) return text;
  let out = '';
  let last = 0;
  while (marker >= 0) {
    const start = marker + 3;
    let end = start;
    let at = -1;
    // user-info ends at the first '/', '?', '#' or whitespace; the host follows the last '@'
    while (end < text.length) {
      const code = text.charCodeAt(end);
      if (code === 0x2f || code === 0x3f || code === 0x23 || code <= 0x20) break;
      if (code === 0x40) at = end;
      end += 1;
    }
    if (at > start) {
      out += text.slice(last, start) + redactionMarker('url_credentials');
      kinds.add('url_credentials');
      last = at;
    }
    marker = text.indexOf('://', Math.max(end, start));
  }
  return last === 0 ? text : out + text.slice(last);
}

function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i -= 1) {
    let d = digits.charCodeAt(i) - 0x30;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/**
 * Card numbers: 13–19 digits, optionally grouped by single spaces or dashes, first digit 2–6
 * (the issuer ranges in use), Luhn-valid. A longer digit run is searched for a valid group window.
 */
function redactCardNumbers(text: string, kinds: KindList): string {
  let out = '';
  let last = 0;
  let i = 0;
  const length = text.length;
  while (i < length) {
    if (!isDigit(text.charCodeAt(i)) || (i > 0 && (isDigit(text.charCodeAt(i - 1)) || /[A-Za-z]/.test(text[i - 1] ?? '')))) {
      i += 1;
      continue;
    }
    // collect groups: digits separated by exactly one space or dash
    const groups: { start: number; end: number }[] = [];
    let j = i;
    while (j < length) {
      const groupStart = j;
      while (j < length && isDigit(text.charCodeAt(j))) j += 1;
      groups.push({ start: groupStart, end: j });
      const sep = text.charCodeAt(j);
      if ((sep === 0x20 || sep === 0x2d) && isDigit(text.charCodeAt(j + 1)) && groups.length < 12) j += 1;
      else break;
    }
    const runEnd = j;
    let found: { start: number; end: number } | undefined;
    for (let a = 0; a < groups.length && !found; a += 1) {
      let digits = '';
      for (let b = a; b < groups.length; b += 1) {
        const group = groups[b] as { start: number; end: number };
        digits += text.slice(group.start, group.end);
        if (digits.length > 19) break;
        const first = digits.charCodeAt(0) - 0x30;
        if (digits.length >= 13 && first >= 2 && first <= 6 && luhnValid(digits)) {
          found = { start: (groups[a] as { start: number }).start, end: group.end };
          break;
        }
      }
    }
    if (found && !/[A-Za-z]/.test(text[runEnd] ?? '')) {
      out += text.slice(last, found.start) + redactionMarker('card_number');
      kinds.add('card_number');
      last = found.end;
    }
    i = runEnd + 1;
  }
  return last === 0 ? text : out + text.slice(last);
}

function looksLikeToken(value: string): boolean {
  if (value.length < 8) return false;
  let letters = 0;
  let digits = 0;
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if (isDigit(code)) digits += 1;
    else if ((code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a)) letters += 1;
  }
  return digits > 0 && letters > 0;
}

function basicCredentialsDecode(token: string): boolean {
  if (token.length % 4 !== 0) return false;
  const decoded = Buffer.from(token, 'base64').toString('latin1');
  return decoded.includes(':') && /^[\x20-\x7e]+$/.test(decoded);
}

/** Quick test for any character a secret pattern needs to start; clean text returns at once. */
function mayContainSecret(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    // '@', ':', '=', digits and the letters that open token shapes
    if (code === 0x40 || code === 0x3a || code === 0x3d || isDigit(code)) return true;
  }
  return /bearer|basic|eyJ|AKIA|ASIA|gh[pousr]_|github_pat|xox|AIza|_live_|_test_|PRIVATE KEY/i.test(text);
}

/** Redacts secrets in `text` (see the module comment). Returns `text` itself when nothing matched. */
export function redactSecrets(text: string): RedactionResult {
  if (!mayContainSecret(text)) return { text, kinds: [] };
  const kinds = new KindList();
  let out = text;
  const simple = (pattern: RegExp, kind: SecretKind): void => {
    out = out.replace(pattern, () => {
      kinds.add(kind);
      return redactionMarker(kind);
    });
  };
  simple(PRIVATE_KEY, 'private_key');
  simple(JWT, 'jwt');
  out = out.replace(BEARER, (_m, word: string, space: string) => {
    kinds.add('bearer');
    return `${word}${space}${redactionMarker('bearer')}`;
  });
  out = out.replace(BASIC, (match: string, word: string, space: string, token: string) => {
    if (!basicCredentialsDecode(token)) return match;
    kinds.add('basic_auth');
    return `${word}${space}${redactionMarker('basic_auth')}`;
  });
  simple(AWS_KEY, 'aws_access_key');
  simple(GITHUB, 'github_token');
  simple(SLACK, 'slack_token');
  simple(GOOGLE, 'google_api_key');
  simple(STRIPE, 'stripe_key');
  out = redactUrlCredentials(out, kinds);
  out = out.replace(CREDENTIAL_PARAM, (match: string, lead: string, name: string, separator: string, value: string) => {
    if (value.startsWith('[redacted:')) return match;
    const lowerName = name.toLowerCase();
    const inQuery = lead === '?' || lead === '&' || lead === ';';
    const isPassword = lowerName.startsWith('pass') || lowerName === 'pwd';
    // In a query string every credential parameter goes; elsewhere (`name: value` prose, generic
    // names) only when the value looks like a token, so "auth: failed" stays readable.
    if (!inQuery && !isPassword && (separator.includes(':') || GENERIC_NAMES.has(lowerName)) && !looksLikeToken(value)) {
      return match;
    }
    kinds.add('credential_param');
    return `${lead}${name}${separator}${redactionMarker('credential_param')}`;
  });
  out = redactEmails(out, kinds);
  out = redactCardNumbers(out, kinds);
  return { text: kinds.kinds.length === 0 ? text : out, kinds: kinds.kinds };
}
