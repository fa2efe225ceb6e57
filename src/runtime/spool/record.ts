/**
 * The spool's record format. Each record: u32 body length, u32 CRC32 of the body, the body. A body
 * starts with its type (u8) and a sequence (f64, exact for the safe integers sequences are):
 *
 * | type | what         | then                                                                     |
 * |------|--------------|--------------------------------------------------------------------------|
 * | 1    | frame        | received_at f64, truncated u8, source, peer (u16 length + UTF-8), bytes  |
 * | 2    | dead letter  | received_at f64, source, peer, code, stage (u16 + UTF-8), reason (u32 + UTF-8), raw bytes |
 * | 3    | batch cut    | sequence = the batch's last frame's                                      |
 * | 4    | checkpoint   | sequence = every frame up to it was confirmed by every sink              |
 *
 * A crash mid-write leaves a short or mismatching last record: the checksum finds it.
 */
import * as zlib from 'node:zlib';
import type { DeadReasonCode } from '../../parse/event.js';
import type { DeadLetter, Frame } from '../contracts.js';

export const RECORD_FRAME = 1;
export const RECORD_DEAD = 2;
export const RECORD_CUT = 3;
export const RECORD_CHECKPOINT = 4;

export const HEADER_BYTES = 8;
/** Larger bodies are never written (frames are capped at 1 MiB): a bigger length means corruption. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

export type SpoolRecord =
  | { readonly type: typeof RECORD_FRAME; readonly seq: number; readonly frame: Frame }
  | { readonly type: typeof RECORD_DEAD; readonly seq: number; readonly letter: DeadLetter }
  | { readonly type: typeof RECORD_CUT | typeof RECORD_CHECKPOINT; readonly seq: number };

const crc32Table = ((): Uint32Array => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32Fallback(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i += 1) crc = (crc32Table[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

/** CRC-32 (IEEE): node:zlib's (Node 20.15+), else a table-driven one. */
export const crc32: (data: Uint8Array) => number = typeof nativeCrc32 === 'function' ? nativeCrc32 : crc32Fallback;

/** Appends records to a growing buffer. */
export class RecordWriter {
  buffer: Buffer;
  length = 0;

  constructor(initialBytes = 1 << 20) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
  }

  private reserve(bytes: number): void {
    const needed = this.length + bytes;
    if (needed <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, this.buffer.length * 2));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  private text(at: number, value: string, lengthBytes: 2 | 4): number {
    const written = this.buffer.write(value, at + lengthBytes, 'utf8');
    if (lengthBytes === 2) this.buffer.writeUInt16LE(written, at);
    else this.buffer.writeUInt32LE(written, at);
    return at + lengthBytes + written;
  }

  /** Closes a record whose body runs from `start + HEADER_BYTES` to `end`. */
  private seal(start: number, end: number): number {
    const body = this.buffer.subarray(start + HEADER_BYTES, end);
    this.buffer.writeUInt32LE(body.length, start);
    this.buffer.writeUInt32LE(crc32(body), start + 4);
    this.length = end;
    return end - start;
  }

  /** Returns the record's size. */
  frame(frame: Frame, seq: number): number {
    this.reserve(HEADER_BYTES + 18 + 4 * (frame.source.length + frame.peer.length) + 4 + frame.data.length);
    const start = this.length;
    let at = start + HEADER_BYTES;
    at = this.buffer.writeUInt8(RECORD_FRAME, at);
    at = this.buffer.writeDoubleLE(seq, at);
    at = this.buffer.writeDoubleLE(frame.receivedAtMs, at);
    at = this.buffer.writeUInt8(frame.truncated === true ? 1 : 0, at);
    at = this.text(at, frame.source, 2);
    at = this.text(at, frame.peer, 2);
    at += frame.data.copy(this.buffer, at);
    return this.seal(start, at);
  }

  dead(letter: DeadLetter, seq: number): number {
    const strings = letter.source.length + letter.peer.length + letter.code.length + letter.stage.length + letter.reason.length;
    this.reserve(HEADER_BYTES + 17 + 12 + 4 * strings + letter.raw.length);
    const start = this.length;
    let at = start + HEADER_BYTES;
    at = this.buffer.writeUInt8(RECORD_DEAD, at);
    at = this.buffer.writeDoubleLE(seq, at);
    at = this.buffer.writeDoubleLE(letter.receivedAtMs, at);
    at = this.text(at, letter.source, 2);
    at = this.text(at, letter.peer, 2);
    at = this.text(at, letter.code, 2);
    at = this.text(at, letter.stage, 2);
    at = this.text(at, letter.reason, 4);
    at += letter.raw.copy(this.buffer, at);
    return this.seal(start, at);
  }

  marker(type: typeof RECORD_CUT | typeof RECORD_CHECKPOINT, seq: number): number {
    this.reserve(HEADER_BYTES + 9);
    const start = this.length;
    let at = start + HEADER_BYTES;
    at = this.buffer.writeUInt8(type, at);
    at = this.buffer.writeDoubleLE(seq, at);
    return this.seal(start, at);
  }

  /** The bytes written so far (valid until the next write). */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  clear(): void {
    this.length = 0;
  }
}

/** What decoding found at an offset: a record and its size, `incomplete` (need more bytes), or corruption. */
export type DecodeResult =
  | { readonly kind: 'record'; readonly record: SpoolRecord; readonly size: number }
  | { readonly kind: 'incomplete'; readonly needed: number }
  | { readonly kind: 'corrupt'; readonly reason: string };

class Cursor {
  constructor(
    readonly data: Buffer,
    public at: number,
    readonly end: number,
  ) {}
  need(bytes: number): void {
    if (this.at + bytes > this.end) throw new RangeError('field runs past the record');
  }
  u8(): number {
    this.need(1);
    const value = this.data.readUInt8(this.at);
    this.at += 1;
    return value;
  }
  f64(): number {
    this.need(8);
    const value = this.data.readDoubleLE(this.at);
    this.at += 8;
    return value;
  }
  text(lengthBytes: 2 | 4): string {
    this.need(lengthBytes);
    const length = lengthBytes === 2 ? this.data.readUInt16LE(this.at) : this.data.readUInt32LE(this.at);
    this.at += lengthBytes;
    this.need(length);
    const value = this.data.toString('utf8', this.at, this.at + length);
    this.at += length;
    return value;
  }
  /** A copy of the rest (the chunk it lives in is reused). */
  rest(): Buffer {
    return Buffer.from(this.data.subarray(this.at, this.end));
  }
}

/** Decodes the record at `offset` of `data` (valid bytes up to `end`). */
export function decodeRecord(data: Buffer, offset: number, end: number): DecodeResult {
  if (end - offset < HEADER_BYTES) return { kind: 'incomplete', needed: HEADER_BYTES };
  const length = data.readUInt32LE(offset);
  if (length < 9 || length > MAX_BODY_BYTES) return { kind: 'corrupt', reason: `bad record length ${length}` };
  if (end - offset < HEADER_BYTES + length) return { kind: 'incomplete', needed: HEADER_BYTES + length };
  const bodyStart = offset + HEADER_BYTES;
  const bodyEnd = bodyStart + length;
  if (crc32(data.subarray(bodyStart, bodyEnd)) !== data.readUInt32LE(offset + 4)) return { kind: 'corrupt', reason: 'checksum mismatch' };
  const cursor = new Cursor(data, bodyStart, bodyEnd);
  try {
    const type = cursor.u8();
    const seq = cursor.f64();
    if (!Number.isSafeInteger(seq) || seq < 0) return { kind: 'corrupt', reason: 'bad sequence' };
    const size = HEADER_BYTES + length;
    if (type === RECORD_FRAME) {
      const receivedAtMs = cursor.f64();
      const truncated = cursor.u8() === 1;
      const source = cursor.text(2);
      const peer = cursor.text(2);
      const frame: Frame = truncated
        ? { source, peer, receivedAtMs, data: cursor.rest(), truncated: true }
        : { source, peer, receivedAtMs, data: cursor.rest() };
      return { kind: 'record', size, record: { type, seq, frame } };
    }
    if (type === RECORD_DEAD) {
      const receivedAtMs = cursor.f64();
      const source = cursor.text(2);
      const peer = cursor.text(2);
      const code = cursor.text(2) as DeadReasonCode;
      const stage = cursor.text(2);
      const reason = cursor.text(4);
      return { kind: 'record', size, record: { type, seq, letter: { source, peer, receivedAtMs, code, stage, reason, raw: cursor.rest(), seq } } };
    }
    if (type === RECORD_CUT || type === RECORD_CHECKPOINT) return { kind: 'record', size, record: { type, seq } };
    return { kind: 'corrupt', reason: `unknown record type ${type}` };
  } catch (error) {
    return { kind: 'corrupt', reason: error instanceof Error ? error.message : String(error) };
  }
}
