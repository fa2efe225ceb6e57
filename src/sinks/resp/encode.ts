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
 * Each field is two strings in that join: a cached piece `\r\n$<n>\r\n<name>\r\n$<len>\r\n` (per name
 * and value length, stored as a flat string: a template literal yields a cons string that `join`
 * walks on every use, which is why a first try at caching pieces gained nothing) and the value.
 * Measured on 20,000 loadgen events (2026-12-05): 6.6–7.0 → 4.8–5.0 µs per event against four
 * strings per field with shared `$<len>` headers. Tried and not kept: predicting pieces by field
 * position (no better than the Map), writing char codes in a JS loop (~2 ns per byte, slower), and
 * `Buffer.copy` of each value from the raw frame (~75 ns per call).
 */

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

/** The `*` id without its final CRLF (the first field's piece starts with one). */
const AUTO_ID_OPEN = '$1\r\n*';

/** Encodes batches of XADDs; one instance per sink. */
export class XaddEncoder {
  /** Sum of the names' and values' sizes of the last entry encoded. */
  private entryFieldBytes = 0;
  /** Per field name, its pieces by value length (see `piece`). */
  private readonly pieces = new Map<string, string[]>();

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
    // Two strings per field: the cached piece `\r\n$<n>\r\n<name>\r\n$<len>\r\n` and the value (the
    // opening ends without CRLF, every piece starts with one). A fresh array of the exact size joins
    // faster than a reused one grown with push.
    const parts = new Array<string>(fields.length + 2);
    let opening = `*${fields.length + (trims ? 6 : 3)}\r\n${prelude.head}`;
    if (trims) opening += prelude.trim;
    opening += id === undefined ? AUTO_ID_OPEN : `$${id.length}\r\n${id}`;
    parts[0] = opening;
    let bytes = 0;
    let k = 1;
    for (let f = 0; f < fields.length; f += 2) {
      const name = fields[f] as string;
      const value = fields[f + 1] as string;
      const nameLength = utf8Lengths ? Buffer.byteLength(name, 'utf8') : name.length;
      const length = utf8Lengths ? Buffer.byteLength(value, 'utf8') : value.length;
      bytes += nameLength + length;
      parts[k] = utf8Lengths ? pieceText(nameLength, name, length) : this.piece(name, length);
      parts[k + 1] = value;
      k += 2;
    }
    parts[k] = '\r\n';
    this.entryFieldBytes = bytes;
    return parts.join('');
  }

  /**
   * `\r\n$<n>\r\n<name>\r\n$<length>\r\n` for an ASCII name, cached per name and value length as a
   * flat string. (A template literal makes a cons string, which `join` would walk on every use: cached
   * flat pieces cut the encoding by ~28 %, measured; see the note at the top.)
   */
  private piece(name: string, length: number): string {
    let byLength = this.pieces.get(name);
    if (byLength === undefined) {
      if (this.pieces.size >= MAX_CACHED_NAMES) return pieceText(name.length, name, length);
      // Only ASCII names are cached (a flat copy is made through latin1); others take the UTF-8 path.
      byLength = isAscii(name) ? [] : NOT_CACHED;
      this.pieces.set(name, byLength);
    }
    if (byLength === NOT_CACHED || length >= MAX_CACHED_LENGTH) return pieceText(name.length, name, length);
    let piece = byLength[length];
    if (piece === undefined) {
      piece = flatString(pieceText(name.length, name, length));
      byLength[length] = piece;
    }
    return piece;
  }
}

/** Field names whose pieces are cached (names come from the parser's bounded key table). */
const MAX_CACHED_NAMES = 20_000;
/** Values this long or longer get a piece built per entry. */
const MAX_CACHED_LENGTH = 256;

/** Marks a name whose pieces are never cached (not ASCII). */
const NOT_CACHED: string[] = [];

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) if (text.charCodeAt(i) > 127) return false;
  return true;
}

/** What precedes a value in an XADD: CRLF, the name as a bulk string, the value's `$<length>` header. */
function pieceText(nameBytes: number, name: string, valueBytes: number): string {
  return `\r\n$${nameBytes}\r\n${name}\r\n$${valueBytes}\r\n`;
}

/** A flat (sequential) copy of an ASCII string. */
function flatString(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
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
