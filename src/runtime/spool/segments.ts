/**
 * Segment files of the spool: `segment-<index>.fsp`, numbered in write order, each a run of records
 * (record.ts). A reader walks them in order from a position, through a chunk buffer.
 */
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeRecord, type SpoolRecord } from './record.js';

const SEGMENT_NAME = /^segment-(\d{12})\.fsp$/;

export function segmentName(index: number): string {
  return `segment-${String(index).padStart(12, '0')}.fsp`;
}

/** Segment indexes found in `dir`, ascending. */
export function listSegments(dir: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync(dir)) {
    const match = SEGMENT_NAME.exec(name);
    if (match) found.push(Number(match[1]));
  }
  return found.sort((a, b) => a - b);
}

/** A place in the spool: a segment and a byte offset in it. */
export interface SpoolPosition {
  readonly segment: number;
  readonly offset: number;
}

export type ReadStep =
  | { readonly kind: 'record'; readonly record: SpoolRecord; readonly segment: number }
  | { readonly kind: 'corrupt'; readonly segment: number; readonly offset: number; readonly reason: string; readonly raw: Buffer }
  | { readonly kind: 'end' };

const CHUNK_BYTES = 1 << 20;
/** Bytes of a corrupt tail kept for its dead letter. */
const CORRUPT_SAMPLE_BYTES = 4096;

/**
 * Reads records in order across segments. `sizeOf(segment)` tells how many bytes of a segment are
 * written (the active one grows); a record cut short at the end of a segment that is complete
 * (not the active one, `isActive` false) is corruption, as is a checksum mismatch: the rest of that
 * segment is skipped (its length fields cannot be trusted) and reported once.
 */
export class SegmentReader {
  private chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  /** Valid bytes in `chunk`, which holds the segment's bytes from `chunkStart`. */
  private chunkLength = 0;
  private chunkStart = 0;
  private fd: number | undefined;
  private fdSegment = -1;

  constructor(
    private readonly dir: string,
    private position: SpoolPosition,
    private readonly segments: () => readonly number[],
    private readonly sizeOf: (segment: number) => number,
    private readonly isActive: (segment: number) => boolean,
  ) {}

  get at(): SpoolPosition {
    return this.position;
  }

  /** The next record, a corrupt stretch, or `end` (nothing more written yet). */
  next(): ReadStep {
    for (;;) {
      const { segment, offset } = this.position;
      const size = this.sizeOf(segment);
      if (offset >= size) {
        if (this.isActive(segment)) return { kind: 'end' };
        const later = this.segments().find((index) => index > segment);
        if (later === undefined) return { kind: 'end' };
        this.moveTo({ segment: later, offset: 0 });
        continue;
      }
      if (!this.load(segment, offset, size)) return { kind: 'end' };
      const at = offset - this.chunkStart;
      const result = decodeRecord(this.chunk, at, this.chunkLength);
      if (result.kind === 'record') {
        this.position = { segment, offset: offset + result.size };
        return { kind: 'record', record: result.record, segment };
      }
      if (result.kind === 'incomplete' && offset + result.needed <= size) {
        // The record goes past the bytes in the chunk (a chunk boundary, or the file grew since it was
        // read): read again from its start, with room for it. Already read so and still short: the
        // file is shorter than its size said; treated as cut short.
        const loadedFromHere = this.chunkStart === offset && this.chunkLength >= Math.min(this.chunk.length, size - offset);
        if (!loadedFromHere || result.needed > this.chunk.length) {
          if (result.needed > this.chunk.length) this.chunk = Buffer.allocUnsafe(result.needed);
          this.chunkLength = 0;
          continue;
        }
      }
      if (result.kind === 'incomplete' && this.isActive(segment)) return { kind: 'end' };
      const reason = result.kind === 'corrupt' ? result.reason : 'record cut short (a crash mid-write)';
      const raw = Buffer.from(this.chunk.subarray(at, Math.min(this.chunkLength, at + CORRUPT_SAMPLE_BYTES)));
      this.position = { segment, offset: size };
      return { kind: 'corrupt', segment, offset, reason, raw };
    }
  }

  private moveTo(position: SpoolPosition): void {
    this.position = position;
    this.chunkLength = 0;
  }

  /** Makes `chunk` hold the bytes from `offset` on (as many as are written and fit); false when none. */
  private load(segment: number, offset: number, size: number): boolean {
    if (this.fdSegment === segment && offset >= this.chunkStart && offset < this.chunkStart + this.chunkLength) return true;
    if (this.fdSegment !== segment) {
      this.closeFile();
      this.fd = openSync(join(this.dir, segmentName(segment)), 'r');
      this.fdSegment = segment;
    }
    const want = Math.min(this.chunk.length, size - offset);
    let got = 0;
    while (got < want) {
      const n = readSync(this.fd as number, this.chunk, got, want - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    this.chunkStart = offset;
    this.chunkLength = got;
    return got > 0;
  }

  closeFile(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.fdSegment = -1;
  }
}

/** The size of a segment file now (0 when it is gone). */
export function fileSize(dir: string, segment: number): number {
  try {
    return statSync(join(dir, segmentName(segment))).size;
  } catch {
    return 0;
  }
}
