/**
 * ECS values derived from FortiGate fields: the outcome, the category, MAC addresses in ECS form and
 * the syslog PRI parts as text.
 */

// PRI → strings, built once so the hot path does not stringify numbers.
export const PRI_TEXT: string[] = [];
export const FACILITY_TEXT: string[] = [];
export const SEVERITY_TEXT: string[] = [];
for (let p = 0; p <= 191; p++) {
  PRI_TEXT.push(String(p));
  FACILITY_TEXT.push(String(p >> 3));
  SEVERITY_TEXT.push(String(p & 7));
}

/** `success` / `failure` from a status, result or CEF outcome value; undefined when it says neither. */
export function outcomeOf(value: string | undefined): 'success' | 'failure' | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (
    v.includes('fail') ||
    v.includes('error') ||
    v.includes('deny') ||
    v.includes('denied') ||
    v.includes('invalid') ||
    v.includes('reject') ||
    v.includes('block') ||
    v.includes('timeout')
  ) {
    return 'failure';
  }
  if (
    v.includes('succe') ||
    v === 'ok' ||
    v === 'up' ||
    v === 'accept' ||
    v === 'allow' ||
    v === 'pass' ||
    v === 'logon' ||
    v === 'login' ||
    v === 'logout'
  ) {
    return 'success';
  }
  return undefined;
}

/**
 * Actions that by themselves say the attempt failed (traffic denied, UTM blocked). A switch rather than a
 * Set: the action is a fresh slice per line, and a Set lookup would hash it first.
 */
export function isFailedAction(action: string): boolean {
  switch (action) {
    case 'deny':
    case 'blocked':
    case 'block':
    case 'dropped':
    case 'drop':
    case 'reset':
    case 'ssl-login-fail':
      return true;
    default:
      return false;
  }
}

export function categoryOf(type: string | undefined, subtype: string | undefined, action: string | undefined): string | undefined {
  switch (type) {
    case 'traffic':
    case 'utm':
    case 'anomaly':
    case 'dns':
      return 'network';
    case 'event':
      if (subtype === 'user') return 'authentication';
      if (subtype === 'system') {
        if (action === 'login' || action === 'logout') return 'authentication';
        return undefined;
      }
      if (subtype === 'vpn') {
        if (action !== undefined && (action.startsWith('ssl-login') || action === 'ssl-new-con')) return 'authentication';
        return 'network';
      }
      return undefined;
    default:
      return undefined;
  }
}

/** Upper-cases an ASCII letter and turns `:` into `-` (one MAC character, by char code). */
function macChar(c: number): number {
  if (c >= 97 && c <= 122) return c - 32;
  return c === 58 ? 45 : c;
}

/** `ff:f0:04:ff:ff:07` → `FF-F0-04-FF-FF-07` (ECS MAC format). */
export function ecsMac(m: string): string {
  if (m.length !== 17) return m.toUpperCase().replaceAll(':', '-');
  // One fromCharCode call with 17 arguments: about half the cost of filling a buffer and using apply.
  return String.fromCharCode(
    macChar(m.charCodeAt(0)),
    macChar(m.charCodeAt(1)),
    macChar(m.charCodeAt(2)),
    macChar(m.charCodeAt(3)),
    macChar(m.charCodeAt(4)),
    macChar(m.charCodeAt(5)),
    macChar(m.charCodeAt(6)),
    macChar(m.charCodeAt(7)),
    macChar(m.charCodeAt(8)),
    macChar(m.charCodeAt(9)),
    macChar(m.charCodeAt(10)),
    macChar(m.charCodeAt(11)),
    macChar(m.charCodeAt(12)),
    macChar(m.charCodeAt(13)),
    macChar(m.charCodeAt(14)),
    macChar(m.charCodeAt(15)),
    macChar(m.charCodeAt(16)),
  );
}
