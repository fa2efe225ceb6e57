import { mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Frame } from '../../../src/runtime/contracts.js';
import { crc32, decodeRecord, RECORD_FRAME, RecordWriter } from '../../../src/runtime/spool/record.js';
import { Spool } from '../../../src/runtime/spool/spool.js';

const logger = pino({ level: 'silent' });
function counting() {
  const counts = { received: 0, errors: 0 };
  return {
    counts,
    metrics: {
      receivedEvents: (n = 1) => void (counts.received += n),
      receivedBytes: () => undefined,
      sentEvents: () => undefined,
      sentBytes: () => undefined,
      dropped: () => undefined,
      error: (_stage: string, n = 1) => void (counts.errors += n),
    },
  };
}

function frame(i: number, size = 40): Frame {
  return { source: 'tcp', peer: '127.0.0.1:5000', receivedAtMs: 1_700_000_000_000 + i, data: Buffer.from(`seq=${i} `.padEnd(size, 'x')) };
}

function open(dir: string, extra: Partial<ConstructorParameters<typeof Spool>[0]> = {}) {
  const { metrics, counts } = counting();
  const spool = new Spool({ dir, maxBytes: 64 << 20, fsync: 'never', fsyncIntervalMs: 1000, logger, metrics, ...extra });
  return { spool, counts };
}

function readAll(spool: Spool) {
  const reader = spool.reader(spool.start, () => false);
  const out: { kind: string; seq?: number; text?: string }[] = [];
  for (let step = reader.next(); step.kind !== 'end'; step = reader.next()) {
    if (step.kind === 'corrupt') out.push({ kind: 'corrupt' });
    else if (step.record.type === RECORD_FRAME) out.push({ kind: 'frame', seq: step.record.seq, text: step.record.frame.data.toString().split(' ')[0] });
  }
  reader.closeFile();
  return out;
}

describe('spool records', () => {
  it('uses the standard CRC-32 and round-trips frames, including non-ASCII and empty data', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    const writer = new RecordWriter(16);
    const original: Frame = { source: 'sýslog', peer: '[::1]:514', receivedAtMs: 1_700_000_000_123, data: Buffer.from('user="zoë"'), truncated: true };
    writer.frame(original, 12345);
    writer.frame({ ...original, data: Buffer.alloc(0), truncated: false }, 12346);
    const bytes = Buffer.from(writer.bytes());
    const first = decodeRecord(bytes, 0, bytes.length);
    expect(first.kind).toBe('record');
    if (first.kind !== 'record' || first.record.type !== RECORD_FRAME) throw new Error('not a frame');
    expect(first.record).toEqual({ type: RECORD_FRAME, seq: 12345, frame: original });
    const second = decodeRecord(bytes, first.size, bytes.length);
    expect(second.kind === 'record' && second.record.type === RECORD_FRAME && second.record.frame.data.length).toBe(0);
    expect(decodeRecord(bytes, 0, 5)).toEqual({ kind: 'incomplete', needed: 8 });
    bytes[20] = (bytes[20] as number) ^ 0xff;
    expect(decodeRecord(bytes, 0, bytes.length)).toMatchObject({ kind: 'corrupt', reason: 'checksum mismatch' });
  });
});

describe('spool', () => {
  it('recovers after a restart: the checkpoint, the cuts after it and the last sequence', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fortistream-spool-'));
    const first = open(dir);
    for (let i = 1; i <= 10; i += 1) first.spool.appendFrame(frame(i), i);
    first.spool.cut(4);
    first.spool.cut(8);
    first.spool.batchDone(4, true);
    first.spool.flush();
    expect(first.counts.received).toBe(10);
    // No close: a crash. The second run finds the checkpoint (4), the cut after it (8) and seq 10.
    const second = open(dir);
    expect(second.spool.recovery).toEqual({ checkpoint: 4, cuts: new Set([8]), lastSeq: 10, pending: 6 });
    expect(readAll(second.spool).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    second.spool.close();
  });

  it('finds a record cut short by a crash mid-write and a flipped byte, without throwing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fortistream-spool-'));
    const first = open(dir);
    for (let i = 1; i <= 5; i += 1) first.spool.appendFrame(frame(i), i);
    first.spool.close();
    const [segment] = readdirSync(dir);
    const file = join(dir, segment as string);
    truncateSync(file, statSync(file).size - 7);
    const second = open(dir);
    expect(second.spool.recovery.lastSeq).toBe(4);
    expect(readAll(second.spool)).toEqual([
      { kind: 'frame', seq: 1, text: 'seq=1' },
      { kind: 'frame', seq: 2, text: 'seq=2' },
      { kind: 'frame', seq: 3, text: 'seq=3' },
      { kind: 'frame', seq: 4, text: 'seq=4' },
      { kind: 'corrupt' },
    ]);
    second.spool.close();
    const bytes = readFileSync(file);
    bytes[30] = (bytes[30] as number) ^ 0x01;
    writeFileSync(file, bytes);
    const third = open(dir);
    expect(readAll(third.spool)).toEqual([{ kind: 'corrupt' }]);
    third.spool.close();
  });

  it('rotates segments and deletes those whose records are all confirmed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fortistream-spool-'));
    const { spool } = open(dir, { segmentBytes: 4096 });
    for (let i = 1; i <= 200; i += 1) {
      spool.appendFrame(frame(i, 200), i);
      if (i % 20 === 0) spool.cut(i);
    }
    spool.flush();
    const before = readdirSync(dir).length;
    expect(before).toBeGreaterThan(5);
    for (let i = 20; i <= 160; i += 20) spool.batchDone(i, true);
    spool.flush();
    expect(readdirSync(dir).length).toBeLessThan(before);
    expect(readAll(spool).map((r) => r.seq)[0]).toBeLessThanOrEqual(161);
    // Not confirmed (given up at shutdown): kept.
    spool.batchDone(180, false);
    expect(spool.checkpoint).toBe(160);
    spool.close();
  });
});
