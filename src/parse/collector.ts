import { KEY_RULES, SLOT_COUNT, targetFor, type KeyRule, type Target } from './fields.js';

/** Unknown keys get a cached `fortinet.firewall.<key>` rule; the cache is bounded against key spraying. */
const DYNAMIC_RULE_LIMIT = 10_000;
const DYNAMIC_KEY_MAX_LENGTH = 48;
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
/**
 * Per table entry: the entry of the key that followed it in the last line that had it (-1: none yet).
 * FortiGate lines of one kind repeat the same key order, so the scanner first checks whether the
 * predicted key is at the cursor (one compare) and only hashes + probes when it is not.
 */
const tableNext = new Int32Array(TABLE_SIZE).fill(-1);
/**
 * The keys' char codes, `KEY_MAX_LENGTH` per table entry (1.5 MB), so `matchKeyAt` reads the key side from
 * a typed array instead of `charCodeAt` (measurably cheaper in the hottest loop of the parser), and each
 * key's length, or -1 for a key that cannot be stored this way (too long or not Latin-1): never predicted.
 */
const KEY_MAX_LENGTH = 48;
const tableKeyCodes = new Uint8Array(TABLE_SIZE * KEY_MAX_LENGTH);
const tableKeyLengths = new Int32Array(TABLE_SIZE).fill(-1);
let tableCount = 0;
/** Table entry of the first key of the last key=value line (the prediction for the next line's first key). */
let firstKeyIndex = -1;

/** The hash the scanners compute incrementally: `h = (h * 31 + c) | 0` over the key's char codes. */
export function hashKey(key: string): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0;
  return h;
}

function mix(h: number): number {
  return (h ^ (h >>> 15)) & TABLE_MASK;
}

function insert(key: string, rule: KeyRule): number {
  const h = hashKey(key);
  let idx = mix(h);
  while (tableKeys[idx] !== undefined) idx = (idx + 1) & TABLE_MASK;
  tableKeys[idx] = key;
  tableHashes[idx] = h;
  tableRules[idx] = rule;
  let storable = key.length <= KEY_MAX_LENGTH;
  for (let i = 0; storable && i < key.length; i++) storable = key.charCodeAt(i) < 256;
  if (storable) {
    for (let i = 0; i < key.length; i++) tableKeyCodes[idx * KEY_MAX_LENGTH + i] = key.charCodeAt(i);
    tableKeyLengths[idx] = key.length;
  }
  tableCount++;
  return idx;
}

for (const [key, rule] of KEY_RULES) insert(key, rule);
const tableLimit = tableCount + DYNAMIC_RULE_LIMIT;

/** The table entry of the key `s[start, end)` whose hash is `h`, or -1 if the table has none. */
function lookupIndex(s: string, start: number, end: number, h: number): number {
  const len = end - start;
  let idx = mix(h);
  for (;;) {
    const k = tableKeys[idx];
    if (k === undefined) return -1;
    if (tableHashes[idx] === h && k.length === len) {
      let i = 0;
      while (i < len && k.charCodeAt(i) === s.charCodeAt(start + i)) i++;
      if (i === len) return idx;
    }
    idx = (idx + 1) & TABLE_MASK;
  }
}

/** The rule for the key `s[start, end)` whose hash is `h`, or undefined if the table has none. */
export function lookupKey(s: string, start: number, end: number, h: number): KeyRule | undefined {
  const idx = lookupIndex(s, start, end, h);
  return idx < 0 ? undefined : tableRules[idx];
}

/** Table entry for a key not in the table: a new cached `fortinet.firewall.<key>` rule, or -1 when full. */
function unknownKeyIndex(key: string): number {
  if (tableCount >= tableLimit || key.length > DYNAMIC_KEY_MAX_LENGTH) return -1;
  return insert(key, { target: targetFor(`fortinet.firewall.${key}`), slot: -1, fallback: false });
}

/** Rule for a key not in the table: cached `fortinet.firewall.<key>` rule, or undefined when full. */
export function unknownKeyRule(key: string): KeyRule | undefined {
  const idx = unknownKeyIndex(key);
  return idx < 0 ? undefined : tableRules[idx];
}

/** The predicted table entry after entry `idx` (-1 = the first key of a line); -1 when none. */
export function predictNext(idx: number): number {
  return idx < 0 ? firstKeyIndex : (tableNext[idx] as number);
}

/** Remembers that entry `next` followed entry `idx` (-1 = line start), for `predictNext`. */
export function learnNext(idx: number, next: number): void {
  if (idx < 0) firstKeyIndex = next;
  else tableNext[idx] = next;
}

/**
 * If the key of table entry `idx` followed by `=` is at `s[i]` (before `end`), returns the index of that
 * `=`; otherwise -1. Table keys the scanner predicts only come from key=value lines, so they consist of key
 * characters: a match is exactly the token the full key scanner would read.
 */
export function matchKeyAt(s: string, i: number, end: number, idx: number): number {
  const len = tableKeyLengths[idx] as number;
  const eq = i + len;
  if (len < 0 || eq >= end || s.charCodeAt(eq) !== 61) return -1;
  const base = idx * KEY_MAX_LENGTH - i;
  for (let j = i; j < eq; j++) if (tableKeyCodes[base + j] !== s.charCodeAt(j)) return -1;
  return eq;
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
  /**
   * Scratch output reused for every frame; `seal()` copies the used part out. Allocating a fresh pre-sized
   * (holey) array per frame and trimming it cost more than one packed `slice` (measured).
   */
  readonly out: string[] = ['@timestamp', ''];
  /** Number of used entries in `out`. */
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
    // out[0] stays '@timestamp'; out[1] is overwritten by finish(). Entries past `n` are stale.
    this.out[1] = '';
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
   * Hot path for the scanners: the key `s[keyStart, keyEnd)` is resolved without slicing it: `known` is
   * its table entry when the scanner already matched it (see `matchKeyAt`), else -1 and it is looked up
   * by `hash`; only a key the table does not know is sliced. Returns the key's table entry, or -1 when
   * unknown (value absent, table full, or `maxFields` reached).
   */
  addScanned(s: string, keyStart: number, keyEnd: number, hash: number, known: number, value: string): number {
    if (this.pairs >= this.maxFields) {
      this.truncatedFields = true;
      return -1;
    }
    this.pairs += 1;
    const len = value.length;
    if (
      len === 0 ||
      (len === 3 && value === 'N/A') ||
      (len === 6 && value === '(null)') ||
      (len === 9 && value === 'undefined')
    ) {
      return known;
    }
    let idx = known >= 0 ? known : lookupIndex(s, keyStart, keyEnd, hash);
    if (idx < 0) {
      const key = s.slice(keyStart, keyEnd);
      idx = unknownKeyIndex(key);
      if (idx < 0) {
        this.emitUncached(`fortinet.firewall.${key}`, value);
        return -1;
      }
    }
    this.apply(tableRules[idx] as KeyRule, value);
    return idx;
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

  /** The event's fields: a packed copy of the used part of the scratch array. */
  seal(): string[] {
    return this.out.slice(0, this.n);
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
