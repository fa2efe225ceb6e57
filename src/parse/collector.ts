import { KEY_RULES, SLOT_COUNT, targetFor, type KeyRule, type Target } from './fields.js';

/** Unknown keys get a cached `fortinet.firewall.<key>` rule; the cache is bounded against key spraying. */
const DYNAMIC_RULE_LIMIT = 10_000;
const DYNAMIC_KEY_MAX_LENGTH = 48;
const OUT_CAPACITY = 128;
/**
 * Open-addressing table of key → rule, looked up straight from the line's char codes (hash computed while
 * the scanner reads the key), so a known key costs no string allocation. Holds the static rules plus
 * cached `fortinet.firewall.<key>` rules for unknown keys (bounded; load factor stays below 1/2).
 */
const TABLE_SIZE = 1 << 15;
const TABLE_MASK = TABLE_SIZE - 1;
const tableKeys: (string | undefined)[] = new Array<string | undefined>(TABLE_SIZE).fill(undefined);
const tableHashes = new Int32Array(TABLE_SIZE);
const tableRules: (KeyRule | undefined)[] = new Array<KeyRule | undefined>(TABLE_SIZE).fill(undefined);
let tableCount = 0;

/** The hash the scanners compute incrementally: `h = (h * 31 + c) | 0` over the key's char codes. */
export function hashKey(key: string): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0;
  return h;
}

function mix(h: number): number {
  return (h ^ (h >>> 15)) & TABLE_MASK;
}

function insert(key: string, rule: KeyRule): void {
  const h = hashKey(key);
  let idx = mix(h);
  while (tableKeys[idx] !== undefined) idx = (idx + 1) & TABLE_MASK;
  tableKeys[idx] = key;
  tableHashes[idx] = h;
  tableRules[idx] = rule;
  tableCount++;
}

for (const [key, rule] of KEY_RULES) insert(key, rule);
const tableLimit = tableCount + DYNAMIC_RULE_LIMIT;

/** The rule for the key `s[start, end)` whose hash is `h`, or undefined if the table has none. */
export function lookupKey(s: string, start: number, end: number, h: number): KeyRule | undefined {
  const len = end - start;
  let idx = mix(h);
  for (;;) {
    const k = tableKeys[idx];
    if (k === undefined) return undefined;
    if (tableHashes[idx] === h && k.length === len) {
      let i = 0;
      while (i < len && k.charCodeAt(i) === s.charCodeAt(start + i)) i++;
      if (i === len) return tableRules[idx];
    }
    idx = (idx + 1) & TABLE_MASK;
  }
}

/** Rule for a key not in the table: cached `fortinet.firewall.<key>` rule, or undefined when full. */
export function unknownKeyRule(key: string): KeyRule | undefined {
  if (tableCount >= tableLimit || key.length > DYNAMIC_KEY_MAX_LENGTH) return undefined;
  const rule: KeyRule = { target: targetFor(`fortinet.firewall.${key}`), slot: -1, fallback: false };
  insert(key, rule);
  return rule;
}

/**
 * Accumulates one event's fields while a body scanner walks the line. One instance is reused for every
 * frame (parsing is synchronous), so the only per-event allocations are the output array and the value
 * strings.
 *
 * Duplicate keys: **first wins**. Each `Target` carries the generation of the parse that last emitted it;
 * a second key resolving to the same field in the same parse is ignored. This makes `tz="UTC-5:00" …
 * tz="-0500"` keep the first, and lets a smuggled repeat of `srcip=` later in a line change nothing.
 * Sentinels (`N/A`, `(null)`, `undefined`) and empty values mean "absent": they are not emitted and do
 * not claim the field.
 */
export class Collector {
  out: string[] = [];
  /** Number of used entries in `out` (it is pre-sized; `seal()` trims it). */
  n = 0;
  gen = 0;
  /** key=value pairs seen in the body (including ignored duplicates/sentinels). */
  pairs = 0;
  maxFields = 1000;
  truncatedFields = false;
  readonly slots: (string | undefined)[] = new Array<string | undefined>(SLOT_COUNT).fill(undefined);
  readonly slotGen: number[] = new Array<number>(SLOT_COUNT).fill(-1);
  private readonly pendingTargets: Target[] = [];
  private readonly pendingValues: string[] = [];

  reset(maxFields: number): void {
    this.gen += 1;
    // Pre-sized (typical traffic line: ~110 entries) to avoid repeated growth; trimmed in finish().
    const out = new Array<string>(OUT_CAPACITY);
    out[0] = '@timestamp';
    out[1] = '';
    this.out = out;
    this.n = 2;
    this.pairs = 0;
    this.maxFields = maxFields;
    this.truncatedFields = false;
    if (this.pendingTargets.length !== 0) {
      this.pendingTargets.length = 0;
      this.pendingValues.length = 0;
    }
  }

  /** Adds one body pair. Returns false once `maxFields` pairs were taken (the scanner stops). */
  add(key: string, value: string): boolean {
    if (this.pairs >= this.maxFields) {
      this.truncatedFields = true;
      return false;
    }
    this.pairs += 1;
    const len = value.length;
    if (
      len === 0 ||
      (len === 3 && value === 'N/A') ||
      (len === 6 && value === '(null)') ||
      (len === 9 && value === 'undefined')
    ) {
      return true;
    }
    const rule = lookupKey(key, 0, key.length, hashKey(key)) ?? unknownKeyRule(key);
    if (rule === undefined) {
      this.emitUncached(`fortinet.firewall.${key}`, value);
      return true;
    }
    this.apply(rule, value);
    return true;
  }

  /**
   * Hot path for the scanners: the key `s[keyStart, keyEnd)` (hash `hash`) is resolved without slicing
   * it; only a key the table does not know is sliced.
   */
  addScanned(s: string, keyStart: number, keyEnd: number, hash: number, value: string): boolean {
    if (this.pairs >= this.maxFields) {
      this.truncatedFields = true;
      return false;
    }
    this.pairs += 1;
    const len = value.length;
    if (
      len === 0 ||
      (len === 3 && value === 'N/A') ||
      (len === 6 && value === '(null)') ||
      (len === 9 && value === 'undefined')
    ) {
      return true;
    }
    let rule = lookupKey(s, keyStart, keyEnd, hash);
    if (rule === undefined) {
      const key = s.slice(keyStart, keyEnd);
      rule = unknownKeyRule(key);
      if (rule === undefined) {
        this.emitUncached(`fortinet.firewall.${key}`, value);
        return true;
      }
    }
    this.apply(rule, value);
    return true;
  }

  private apply(rule: KeyRule, value: string): void {
    const gen = this.gen;
    const target = rule.target;
    if (rule.fallback) {
      if (target !== null) {
        this.pendingTargets.push(target);
        this.pendingValues.push(value);
      }
      return;
    }
    if (target !== null) {
      if (target.seen === gen) return;
      target.seen = gen;
      this.push(target.name, value);
    }
    const slot = rule.slot;
    if (slot >= 0 && this.slotGen[slot] !== gen) {
      this.slotGen[slot] = gen;
      this.slots[slot] = value;
    }
  }

  /** The remembered value of a slot in this parse, or undefined. */
  get(slot: number): string | undefined {
    return this.slotGen[slot] === this.gen ? this.slots[slot] : undefined;
  }

  has(target: Target): boolean {
    return target.seen === this.gen;
  }

  /** Emits `value` under `target` unless a body key already filled it (first wins). */
  emitIfAbsent(target: Target, value: string): void {
    if (target.seen === this.gen) return;
    target.seen = this.gen;
    this.push(target.name, value);
  }

  push(name: string, value: string): void {
    const n = this.n;
    this.out[n] = name;
    this.out[n + 1] = value;
    this.n = n + 2;
  }

  /** Trims the pre-sized array to the used length and returns it. */
  seal(): string[] {
    this.out.length = this.n;
    return this.out;
  }

  /** Applies `remip`-style fallbacks: only where no primary key filled the field. */
  flushFallbacks(): void {
    const targets = this.pendingTargets;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i] as Target;
      this.emitIfAbsent(target, this.pendingValues[i] as string);
    }
  }

  /** Rare path (key cache full or key very long): linear duplicate check. */
  private emitUncached(name: string, value: string): void {
    const out = this.out;
    for (let i = 0; i < this.n; i += 2) if (out[i] === name) return;
    this.push(name, value);
  }
}
