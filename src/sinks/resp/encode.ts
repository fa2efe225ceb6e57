/**
 * RESP2 encoding of the XADD commands of a whole batch into ONE buffer, sent with one socket write.
 *
 * Each entry's command is built as one flat string with `Array.prototype.join` (far cheaper than `+=`
 * ropes, which V8 must flatten later) and written into the batch buffer with one `buf.write`. Lengths
 * are first taken as `string.length` with no per-string check: when `write` reports more bytes than
 * chars, that entry had a non-ASCII string and is encoded again with `Buffer.byteLength` per string
 * (measured: bench/scenarios/sink-xadd.mjs; a charCode scan or `byteLength` per string costs more than
 * the whole ASCII encoding).
 *
 * Tried and not kept (2026-12-05, 20,000 loadgen events, µs per event on that day's machine, where this
 * encoder took 6.5–7.5): `join` costs ~12 ns per joined string, so the name + length headers were merged
 * into cached per-name pieces (2 strings per field instead of 4): with a Map lookup per name 7.2–7.4,
 * with per-position prediction 6.4 (prediction misses when an earlier field is absent), with the
 * parser's own per-field targets handed over 6.7–6.8; writing char codes into the buffer in a JS loop
 * 6.6–8.5 (~2 ns per byte); `Buffer.copy` of each value from the raw frame ~75 ns per call (~5 µs).
 */

/** `$<n>\r\n` and `\r\n$<n>\r\n` (the previous argument's CRLF folded in) for small n, built once. */
const FIRST_HEADERS: string[] = Array.from({ length: 1024 }, (_, n) => `$${n}\r\n`);
const NEXT_HEADERS: string[] = Array.from({ length: 1024 }, (_, n) => `\r\n$${n}\r\n`);

/** One RESP bulk string (arguments of commands built outside the hot loop). */
export function bulk(value: string): string {
  return `$${Buffer.byteLength(value, 'utf8')}\r\n${value}\r\n`;
}

/** A whole command (`*n` + bulk strings); for the handshake and tests. */
export function command(...args: readonly string[]): string {
  let text = `*${args.length}\r\n`;
  for (const arg of args) text += bulk(arg);
  return text;
}

/** Where and how the entries of one stream are appended. */
export interface XaddTarget {
  /** The stream key. */
  readonly key: string;
  /** `MAXLEN ~ maxLen`. */
  readonly maxLen: number;
  /** `each`: every XADD trims; `last`: only the last XADD of a call trims (one trim per batch). */
  readonly trim: 'each' | 'last';
}

/** Explicit entry ids `<ms>-<seq>`, `seq` counting up from `firstSeq` for the entries in order. */
export interface IdRange {
  readonly ms: number;
  readonly firstSeq: number;
}

/** Explicit ids of a call's entries: a range, or one id per entry. */
export type EntryIds = IdRange | readonly string[];

function idAt(ids: EntryIds | undefined, index: number): string | undefined {
  if (ids === undefined) return undefined;
  if ('ms' in ids) return `${ids.ms}-${ids.firstSeq + index}`;
  return ids[index];
}

/** With `trim: 'each'`, every this-many-th entry of a call carries `MAXLEN ~` (and always the last). */
export const TRIM_EVERY = 64;

/** Pre-encoded `XADD key` and `MAXLEN ~ n` (built once per sink, not per entry). */
export interface Prelude {
  readonly head: string;
  readonly trim: string;
  readonly trimEach: boolean;
}

const AUTO_ID = bulk('*');

/** Encodes batches of XADDs; one instance per sink. */
export class XaddEncoder {
  /** Sum of the names' and values' sizes of the last entry encoded. */
  private entryFieldBytes = 0;

  /** Pre-encodes what every XADD to `target` starts with. */
  prelude(target: XaddTarget): Prelude {
    return {
      head: bulk('XADD') + bulk(target.key),
      trim: bulk('MAXLEN') + bulk('~') + bulk(String(target.maxLen)),
      trimEach: target.trim === 'each',
    };
  }

  /**
   * Writes one `XADD key [MAXLEN ~ n] id f1 v1 …` per entry into `out`; `out.fieldBytes` grows by the
   * UTF-8 sizes of the names and values.
   */
  append(out: EncodedBatch, prelude: Prelude, entries: readonly (readonly string[])[], ids: EntryIds | undefined): void {
    const last = entries.length - 1;
    for (let e = 0; e <= last; e += 1) this.appendEntry(out, prelude, entries[e] as readonly string[], idAt(ids, e), e, e === last);
  }

  /**
   * Writes the XADD of one entry (the `index`th of its call, `isLast` when no other follows in that call);
   * for encoding entries one at a time as they arrive. `id`: its explicit id, or undefined for `*`.
   */
  appendEntry(out: EncodedBatch, prelude: Prelude, fields: readonly string[], id: string | undefined, index: number, isLast: boolean): void {
    const text = this.entry(prelude, fields, id, index, isLast, false);
    // 4 spare bytes: a write that ends less than 4 bytes before the end may have been cut (see writeAscii).
    out.reserve(text.length + 4);
    if (!out.writeAscii(text)) {
      // Not ASCII: the `$len` headers must count UTF-8 bytes.
      out.writeUtf8(this.entry(prelude, fields, id, index, isLast, true));
    }
    out.fieldBytes += this.entryFieldBytes;
    out.entries += 1;
  }

  private entry(
    prelude: Prelude,
    fields: readonly string[],
    id: string | undefined,
    index: number,
    isLast: boolean,
    utf8Lengths: boolean,
  ): string {
    // MAXLEN ~ is approximate anyway (Redis trims whole nodes): checking it on every 64th entry and on
    // a call's last one keeps the cap within 64 entries of what per-entry trimming gives, and saves
    // ~1 µs of Redis CPU per event (measured: 8.2 → 7.2 µs per XADD of a 60-field event).
    const trims = isLast || (prelude.trimEach && index % TRIM_EVERY === 0);
    // A fresh array of the exact size joins faster than a reused one grown with push.
    const parts = new Array<string>(2 * fields.length + 2);
    let opening = `*${fields.length + (trims ? 6 : 3)}\r\n${prelude.head}`;
    if (trims) opening += prelude.trim;
    opening += id === undefined ? AUTO_ID : bulk(id);
    parts[0] = opening;
    let bytes = 0;
    let k = 1;
    for (let f = 0; f < fields.length; f += 1) {
      const value = fields[f] as string;
      const length = utf8Lengths ? Buffer.byteLength(value, 'utf8') : value.length;
      bytes += length;
      if (length < 1024) parts[k] = f === 0 ? (FIRST_HEADERS[length] as string) : (NEXT_HEADERS[length] as string);
      else parts[k] = f === 0 ? `$${length}\r\n` : `\r\n$${length}\r\n`;
      parts[k + 1] = value;
      k += 2;
    }
    parts[k] = '\r\n';
    this.entryFieldBytes = bytes;
    return parts.join('');
  }
}

/** The bytes of one round trip, written entry by entry. */
export class EncodedBatch {
  buffer: Buffer;
  length = 0;
  /** Names and values only (what the sent-bytes metric counts). */
  fieldBytes = 0;
  /** Entries written (their index within the trip decides which carry `MAXLEN ~`). */
  entries = 0;

  /** `buffer`: where to write (reused between trips: fresh memory costs page faults); grown when too small. */
  constructor(buffer: Buffer) {
    this.buffer = buffer;
  }

  /** Makes room for `bytes` more. */
  reserve(bytes: number): void {
    const needed = this.length + bytes;
    if (needed <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, Math.ceil(this.buffer.length * 1.5)));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  /**
   * Writes `text`; false (and nothing kept) when it was not all ASCII. `write` stops before a char that
   * does not fit, so a write that left 4+ bytes free was complete: then bytes = chars means ASCII.
   */
  writeAscii(text: string): boolean {
    const written = this.buffer.write(text, this.length, 'utf8');
    if (written !== text.length || this.buffer.length - this.length - written < 4) return false;
    this.length += written;
    return true;
  }

  /** Writes `text` whatever it holds. */
  writeUtf8(text: string): void {
    this.reserve(Buffer.byteLength(text, 'utf8'));
    this.length += this.buffer.write(text, this.length, 'utf8');
  }

  /** The bytes written so far. */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}
