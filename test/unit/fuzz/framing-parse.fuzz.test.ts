import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_FIELDS, parseFrame, type DeadReasonCode, type ParseResult } from '../../../src/parse/index.js';
import { getField, type FrameOrigin } from '../../../src/parse/event.js';
import {
  StreamFramer,
  splitDatagram,
  type FramingOptions,
  type OversizePolicy,
} from '../../../src/sources/syslog/framing.js';

/*
 * Seeded fuzzing of framing + parsing (issue 6, item 7). Deterministic: every random choice comes from
 * one PRNG seeded by FUZZ_SEED (a fixed seed by default; FUZZ_SEED=random for a fresh one, printed), each batch from `seed + batch index`, so a
 * failure message names the seed and batch to replay with `FUZZ_SEED=<seed> npx vitest run <this file>`.
 */

// ---------------------------------------------------------------------------------------------------
// PRNG

/** mulberry32: small, fast, good enough for fuzzing, reproducible across platforms. */
class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform uint32. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return n <= 1 ? 0 : this.next() % n;
  }

  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
}

const envSeed = process.env.FUZZ_SEED;
// A fixed seed by default, so CI is repeatable; FUZZ_SEED=random explores a fresh one (printed).
const SEED =
  envSeed === 'random'
    ? (Date.now() ^ (process.pid << 16)) >>> 0
    : envSeed !== undefined && envSeed !== ''
      ? Number.parseInt(envSeed, 10) >>> 0
      : 437891495;
console.log(`framing-parse fuzz: seed ${SEED} (replay with FUZZ_SEED=${SEED})`);

// ---------------------------------------------------------------------------------------------------
// Seed corpus: our fixtures, plus ../shared/corpus when present (read here, never copied into the repo)

function linesOf(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim() !== '');
}

function walk(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    const stat = statSync(path);
    if (stat.isDirectory()) files.push(...walk(path));
    else if (stat.isFile() && stat.size <= 16 * 1024 * 1024) files.push(path);
  }
  return files.sort();
}

function loadCorpus(): { lines: Buffer[]; shared: number } {
  const root = process.cwd();
  const lines: string[] = [];
  lines.push(...linesOf(readFileSync(join(root, 'samples', 'fortigate-sample.log'), 'utf8')));
  const cases: unknown = JSON.parse(readFileSync(join(root, 'test', 'fixtures', 'parse', 'cases.json'), 'utf8'));
  if (Array.isArray(cases)) {
    for (const c of cases as unknown[]) {
      if (typeof c === 'object' && c !== null && 'line' in c && typeof c.line === 'string') lines.push(c.line);
    }
  }
  lines.push(
    ...linesOf(readFileSync(join(root, 'test', 'fixtures', 'state', 'auth-lines.txt'), 'utf8')).filter((l) => !l.startsWith('#')),
  );
  const own = lines.length;
  const sharedDir = join(root, '..', 'shared', 'corpus');
  if (existsSync(sharedDir)) {
    // Log lines only (the folder also holds pretty-printed expected JSON, one brace per line).
    for (const file of walk(sharedDir)) lines.push(...linesOf(readFileSync(file, 'utf8')).filter((l) => /\w=|CEF:/.test(l)));
  }
  return { lines: lines.map((l) => Buffer.from(l, 'utf8')), shared: lines.length - own };
}

const corpus = loadCorpus();
const SEEDS = corpus.lines;

// ---------------------------------------------------------------------------------------------------
// Mutator

const b = (...bytes: number[]): Buffer => Buffer.from(bytes);
const INSERTS: readonly Buffer[] = [
  Buffer.from('"'),
  Buffer.from('\\'),
  Buffer.from('='),
  Buffer.from(' '),
  Buffer.from('  '),
  Buffer.from('""'),
  Buffer.from('\\"'),
  Buffer.from('=""'),
  Buffer.from('|'),
  Buffer.from(','),
  b(0x00),
  b(0xff),
  b(0xfe, 0xff),
  b(0xc3), // lone UTF-8 lead byte
  b(0xe2, 0x82), // truncated 3-byte sequence
  b(0xed, 0xa0, 0x80), // UTF-16 surrogate encoded in UTF-8
  b(0xc0, 0xaf), // overlong "/"
  b(0xf8, 0x88, 0x80, 0x80, 0x80), // 5-byte form
  b(0x80), // lone continuation byte
  b(0xef, 0xbb, 0xbf), // BOM
  Buffer.from('\r'),
  Buffer.from('\n'),
  Buffer.from('\r\n'),
  Buffer.from('\t'),
  Buffer.from('<189>'),
  Buffer.from('CEF:0|'),
  Buffer.from('1 '),
  Buffer.from('999999999 '),
];

function randomBytes(rng: Rng, n: number): Buffer {
  if (rng.chance(0.5)) return rng.bytes(n);
  // Mostly-printable noise with syslog punctuation (finds more parser paths than uniform bytes).
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789 ="\\<>|,:-.\t';
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = alphabet.charCodeAt(rng.int(alphabet.length));
  return out;
}

/** Duplicates one `key=value` pair (the token around a random "="). */
function duplicatePair(rng: Rng, line: Buffer): Buffer {
  if (line.length === 0) return line;
  const eq = line.indexOf(0x3d, rng.int(line.length));
  if (eq < 0) return line;
  let start = line.lastIndexOf(0x20, eq);
  start = start < 0 ? 0 : start;
  let end = line.indexOf(0x20, eq);
  end = end < 0 ? line.length : end;
  const pair = line.subarray(start, end);
  const copies = 1 + rng.int(rng.chance(0.1) ? 200 : 3);
  return Buffer.concat([line.subarray(0, end), ...Array.from({ length: copies }, () => pair), line.subarray(end)]);
}

function mutateOnce(rng: Rng, line: Buffer): Buffer {
  const n = line.length;
  const at = rng.int(n + 1);
  switch (rng.int(10)) {
    case 0: {
      if (n === 0) return line;
      const out = Buffer.from(line);
      const i = rng.int(n);
      out[i] = (out[i] as number) ^ (1 << rng.int(8));
      return out;
    }
    case 1:
    case 2:
      return Buffer.concat([line.subarray(0, at), rng.pick(INSERTS), line.subarray(at)]);
    case 3:
      return line.subarray(0, at);
    case 4:
      return duplicatePair(rng, line);
    case 5: {
      const other = rng.pick(SEEDS);
      return Buffer.concat([line.subarray(0, at), other.subarray(rng.int(other.length + 1))]);
    }
    case 6:
      return Buffer.concat([line.subarray(0, at), randomBytes(rng, 1 + rng.int(16)), line.subarray(Math.min(n, at + rng.int(16)))]);
    case 7:
      return Buffer.concat([line.subarray(0, at), line.subarray(Math.min(n, at + 1 + rng.int(32)))]);
    case 8: {
      // Overwrite a stretch with one repeated byte (quote runs, NUL runs, 0xFF runs).
      const out = Buffer.from(line);
      out.fill(rng.pick([0x22, 0x5c, 0x3d, 0x20, 0x00, 0xff]), at, Math.min(n, at + 1 + rng.int(8)));
      return out;
    }
    default:
      return rng.chance(0.5) ? Buffer.concat([line, line]) : Buffer.concat([line, Buffer.from(' '), rng.pick(SEEDS)]);
  }
}

/** Builds a line of `pairs` key=value pairs. */
function manyPairs(pairs: number): Buffer {
  const parts = ['<189>date=2025-06-01 time=10:00:00 devname="fw"'];
  for (let i = 0; i < pairs; i++) parts.push(i % 3 === 0 ? `k${i}="v ${i}"` : `k${i}=${i}`);
  return Buffer.from(parts.join(' '));
}

const TEN_THOUSAND_PAIRS = manyPairs(10_000);

/** Longest fuzzed frame body: far above every max_frame_bytes tried, far below a 10-digit length. */
const MAX_FUZZ_FRAME_BYTES = 1 << 20;

/** One fuzzed frame body (may contain LF, NUL, invalid UTF-8, …). */
function generateFrame(rng: Rng, max: number): Buffer {
  const r = rng.int(1000);
  if (r < 80) return rng.pick(SEEDS);
  if (r < 180) return randomBytes(rng, rng.int(rng.chance(0.9) ? 300 : 4000));
  if (r < 182) return Buffer.alloc(0);
  if (r < 184) return Buffer.alloc(max, 0x61);
  if (r < 186) return Buffer.alloc(max + 1, 0x61);
  if (r < 187) return TEN_THOUSAND_PAIRS;
  let line = rng.pick(SEEDS);
  const mutations = 1 + rng.int(rng.chance(0.1) ? 12 : 4);
  for (let i = 0; i < mutations; i++) {
    line = mutateOnce(rng, line);
    // Splices and duplications compound: keep frames at realistic sizes (a 10-digit length is a bad
    // prefix by design, so a frame of 1e9 bytes or more could never be "honest").
    if (line.length > MAX_FUZZ_FRAME_BYTES) line = line.subarray(0, MAX_FUZZ_FRAME_BYTES);
  }
  return line;
}

// ---------------------------------------------------------------------------------------------------
// Framing models and the harness

const FRAMING_CODES: ReadonlySet<DeadReasonCode> = new Set<DeadReasonCode>([
  'frame_too_large',
  'bad_length_prefix',
  'frame_truncated_by_peer',
]);
/** What parseFrame may answer; parse_exception (an exception caught inside parseFrame) counts as a bug. */
const PARSE_CODES: ReadonlySet<DeadReasonCode> = new Set<DeadReasonCode>([
  'empty',
  'binary',
  'no_fields',
  'bad_cef',
  'bad_csv',
  'too_many_fields',
]);

type Expected = { readonly kind: 'frame'; readonly data: Buffer; readonly truncated: boolean } | { readonly kind: 'dead'; readonly code: DeadReasonCode; readonly raw: Buffer };

function oversized(head: Buffer, policy: OversizePolicy): Expected {
  return policy === 'truncate' ? { kind: 'frame', data: head, truncated: true } : { kind: 'dead', code: 'frame_too_large', raw: head };
}

/** LF framing (and UDP datagrams): split at LF, strip one CR, skip empty lines, cut at max. */
function expectedLines(stream: Buffer, options: FramingOptions): Expected[] {
  const out: Expected[] = [];
  const max = options.maxFrameBytes;
  let pos = 0;
  while (pos < stream.length) {
    let nl = stream.indexOf(0x0a, pos);
    if (nl < 0) nl = stream.length;
    let end = nl;
    if (end > pos && stream[end - 1] === 0x0d) end--;
    if (end - pos > max) out.push(oversized(stream.subarray(pos, pos + max), options.oversize));
    else if (end > pos) out.push({ kind: 'frame', data: stream.subarray(pos, end), truncated: false });
    pos = nl + 1;
  }
  return out;
}

/** An honest octet-counted frame: exactly one output, or none when the body is only a line terminator. */
function expectedOctet(body: Buffer, options: FramingOptions): Expected | undefined {
  const max = options.maxFrameBytes;
  if (body.length > max) return oversized(body.subarray(0, max), options.oversize);
  let end = body.length;
  if (end > 0 && body[end - 1] === 0x0a) end--;
  if (end > 0 && body[end - 1] === 0x0d) end--;
  return end === 0 ? undefined : { kind: 'frame', data: body.subarray(0, end), truncated: false };
}

interface Totals {
  framesGenerated: number;
  framerOutputs: number;
  parsed: number;
  parseDead: number;
  framingDead: number;
  silentlyEmpty: number;
  bytes: number;
  pushes: number;
  udpDatagrams: number;
  parseDeadByCode: Map<string, number>;
}

const totals: Totals = {
  framesGenerated: 0,
  framerOutputs: 0,
  parsed: 0,
  parseDead: 0,
  framingDead: 0,
  silentlyEmpty: 0,
  bytes: 0,
  pushes: 0,
  udpDatagrams: 0,
  parseDeadByCode: new Map(),
};

const ORIGIN: FrameOrigin = { source: 'fuzz', peer: '192.0.2.1:514', receivedAtMs: 1_748_772_000_000 };

/** Parses one frame and checks the answer's shape; returns it for counting. */
function parseChecked(data: Buffer, truncated: boolean, where: string): ParseResult {
  let result: ParseResult;
  try {
    result = parseFrame(data, ORIGIN, { truncated });
  } catch (error: unknown) {
    throw new Error(`${where}: parseFrame threw ${String(error)} on ${JSON.stringify(data.toString('latin1').slice(0, 200))}`);
  }
  if (result.ok) {
    const fields = result.event.fields;
    if (fields.length % 2 !== 0 || !Number.isFinite(result.event.timeMs)) {
      throw new Error(`${where}: malformed event (${fields.length} field slots, timeMs ${result.event.timeMs})`);
    }
    totals.parsed++;
  } else {
    if (!PARSE_CODES.has(result.code) || result.reason === '') {
      throw new Error(
        `${where}: parse dead letter ${result.code} "${result.reason}" on ${JSON.stringify(data.toString('latin1').slice(0, 300))}`,
      );
    }
    totals.parseDead++;
    totals.parseDeadByCode.set(result.code, (totals.parseDeadByCode.get(result.code) ?? 0) + 1);
  }
  return result;
}

type StreamKind = 'octet' | 'lf' | 'octet-lies';

interface Batch {
  readonly index: number;
  readonly kind: StreamKind;
  readonly options: FramingOptions;
  readonly frames: number;
  readonly maxChunk: number;
}

/** Lying or malformed length prefixes (with their body). */
function lyingFrame(rng: Rng, body: Buffer): Buffer {
  const len = body.length;
  const prefix = rng.pick([
    () => `${len + 1 + rng.int(50)} `, // larger than the data
    () => `${Math.max(1, len - 1 - rng.int(Math.max(1, len)))} `, // smaller than the data
    () => '0 ',
    () => `${1_000_000_000 + rng.int(1_000_000_000)} `, // 10 digits
    () => `-${len} `, // negative-looking
    () => `${len}x `, // non-digit in the prefix
    () => `x${len} `,
    () => `0${len} `, // leading zero
    () => `${len}`, // no SP
    () => `${len}\t`,
    () => ' ',
    () => `${len} `, // honest now and then
  ])();
  return Buffer.concat([Buffer.from(prefix, 'latin1'), body]);
}

function runBatch(batch: Batch, seed: number): void {
  const rng = new Rng(seed);
  const { options, kind } = batch;
  const max = options.maxFrameBytes;
  const where = `seed ${SEED} batch ${batch.index} (${kind}, max ${max}, ${options.oversize})`;

  // Build the stream and what it must produce.
  const parts: Buffer[] = [];
  const expected: (Expected | undefined)[] = [];
  let knowable = true;
  if (kind === 'lf') {
    // A first line that is not digits makes the connection LF-framed; it counts as a frame.
    parts.push(Buffer.from('<13>fuzz stream start\n'));
    for (let i = 0; i < batch.frames; i++) {
      parts.push(generateFrame(rng, max), Buffer.from(rng.chance(0.2) ? '\r\n' : '\n'));
    }
    expected.push(...expectedLines(Buffer.concat(parts), options));
  } else if (kind === 'octet') {
    for (let i = 0; i < batch.frames; i++) {
      let body = generateFrame(rng, max);
      if (body.length === 0) body = Buffer.from('<13>x'); // "0 " is no valid MSG-LEN (tested explicitly)
      parts.push(Buffer.from(`${body.length} `, 'latin1'), body);
      if (rng.chance(0.05)) parts.push(Buffer.from(rng.pick(['\n', '\r\n', '\n\n'])));
      const exp = expectedOctet(body, options);
      expected.push(exp);
      if (exp === undefined) totals.silentlyEmpty++;
    }
  } else {
    knowable = false;
    const first = Buffer.from('<13>first=1');
    parts.push(Buffer.from(`${first.length} `), first);
    for (let i = 0; i < batch.frames; i++) {
      const body = generateFrame(rng, max);
      parts.push(rng.chance(0.3) ? lyingFrame(rng, body) : Buffer.concat([Buffer.from(`${body.length} `), body]));
      if (rng.chance(0.1)) parts.push(Buffer.from('\n'));
    }
  }
  const stream = Buffer.concat(parts);
  const wanted = expected.filter((e): e is Expected => e !== undefined);

  let seen = 0;
  const check = (got: Expected): void => {
    totals.framerOutputs++;
    if (got.kind === 'frame') {
      if (got.data.length === 0 || got.data.length > max) throw new Error(`${where}: frame of ${got.data.length} bytes`);
      if (got.truncated && got.data.length !== max) throw new Error(`${where}: truncated frame of ${got.data.length} bytes`);
      parseChecked(got.data, got.truncated, where);
    } else {
      if (got.raw.length > max) throw new Error(`${where}: dead letter raw of ${got.raw.length} bytes`);
      totals.framingDead++;
    }
    if (!knowable) return;
    const exp = wanted[seen];
    if (exp === undefined) throw new Error(`${where}: output #${seen} beyond the ${wanted.length} expected`);
    const same =
      exp.kind === got.kind &&
      (exp.kind === 'frame'
        ? got.kind === 'frame' && exp.truncated === got.truncated && exp.data.equals(got.data)
        : got.kind === 'dead' && exp.code === got.code && exp.raw.equals(got.raw));
    if (!same) {
      const show = (e: Expected): string =>
        e.kind === 'frame' ? `frame(truncated=${e.truncated}) ${JSON.stringify(e.data.toString('latin1').slice(0, 120))}` : `dead ${e.code} ${JSON.stringify(e.raw.toString('latin1').slice(0, 120))}`;
      throw new Error(`${where}: output #${seen}: expected ${show(exp)}, got ${show(got)}`);
    }
    seen++;
  };

  const framer = new StreamFramer(options, {
    frame: (data, truncated) => check({ kind: 'frame', data, truncated }),
    dead: (code, reason, raw) => {
      if (!FRAMING_CODES.has(code) || reason === '') throw new Error(`${where}: framing dead letter ${code} "${reason}"`);
      check({ kind: 'dead', code, raw });
    },
  });

  let pos = 0;
  while (pos < stream.length) {
    const size = 1 + rng.int(batch.maxChunk);
    framer.push(stream.subarray(pos, pos + size));
    totals.pushes++;
    pos += size;
    // Bounded memory: the framer never holds more than one frame (+1 byte of CR slack).
    if (framer.bufferedBytes > max + 1) throw new Error(`${where}: framer holds ${framer.bufferedBytes} bytes`);
  }
  framer.end();
  totals.bytes += stream.length;
  totals.framesGenerated += batch.frames;

  if (knowable) expect(seen, `${where}: outputs`).toBe(wanted.length);
  if (kind === 'octet') {
    // Honest octet counting: every frame pushed ends as exactly one output (or was only a line terminator).
    expect(seen + (expected.length - wanted.length), `${where}: frames accounted`).toBe(batch.frames);
  }
}

// ---------------------------------------------------------------------------------------------------
// The plan: ≥ 1,000,000 frames over 100 batches, grouped in sub-batches (one test each, vitest timeout)

const MAX_SIZES = [64, 300, 1024, 8192, 65_536] as const;
const CHUNKS = [1, 7, 64, 1500, 16_384, 65_536] as const;
const FRAMES_PER_BATCH = 16_000;
const BATCHES = 100;
const GROUPS = 10;

function planBatch(index: number): Batch {
  const rng = new Rng((SEED ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const kind: StreamKind = index % 4 === 3 ? 'octet-lies' : index % 2 === 0 ? 'octet' : 'lf';
  const maxChunk = rng.pick(CHUNKS);
  return {
    index,
    kind,
    options: { maxFrameBytes: rng.pick(MAX_SIZES), oversize: rng.chance(0.5) ? 'truncate' : 'dead_letter' },
    // Byte-by-byte feeding costs one push per byte: fewer frames there, made up elsewhere.
    frames: maxChunk === 1 ? FRAMES_PER_BATCH / 10 : maxChunk === 7 ? FRAMES_PER_BATCH / 2 : FRAMES_PER_BATCH * 1.25,
    maxChunk,
  };
}

const plan = Array.from({ length: BATCHES }, (_, i) => planBatch(i));
const started = Date.now();

describe(`framing + parsing fuzz (seed ${SEED}, ${SEEDS.length} corpus lines, ${corpus.shared} from ../shared/corpus)`, () => {
  for (let g = 0; g < GROUPS; g++) {
    const group = plan.filter((p) => p.index % GROUPS === g);
    it(`sub-batch ${g + 1}/${GROUPS}: ${group.map((p) => `${p.kind}/${p.options.maxFrameBytes}/c${p.maxChunk}`).join(' ')}`, { timeout: 30_000 }, () => {
      for (const batch of group) runBatch(batch, (SEED + batch.index) >>> 0);
    });
  }

  it('covered at least 1,000,000 frames, each one accounted for (runs after the sub-batches, before UDP)', () => {
    expect(plan.reduce((n, p) => n + p.frames, 0)).toBeGreaterThanOrEqual(1_000_000);
    expect(totals.framesGenerated).toBe(plan.reduce((n, p) => n + p.frames, 0));
    // Framer + parser accounted for every frame they produced.
    expect(totals.parsed + totals.parseDead).toBe(totals.framerOutputs - totals.framingDead);
  });

  it('UDP: splitDatagram on random datagrams matches the line model and parses without throwing', { timeout: 30_000 }, () => {
    const rng = new Rng((SEED ^ 0x5eed) >>> 0);
    for (let i = 0; i < 100_000; i++) {
      const options: FramingOptions = { maxFrameBytes: rng.pick(MAX_SIZES), oversize: rng.chance(0.5) ? 'truncate' : 'dead_letter' };
      const pieces: Buffer[] = [];
      const logs = rng.chance(0.8) ? 1 : 1 + rng.int(5);
      for (let j = 0; j < logs; j++) {
        if (j > 0) pieces.push(Buffer.from(rng.chance(0.3) ? '\r\n' : '\n'));
        pieces.push(generateFrame(rng, options.maxFrameBytes));
      }
      const datagram = Buffer.concat(pieces);
      const wanted = expectedLines(datagram, options);
      const got: Expected[] = [];
      splitDatagram(datagram, options, {
        frame: (data, truncated) => got.push({ kind: 'frame', data, truncated }),
        dead: (code, reason, raw) => {
          expect(reason).not.toBe('');
          got.push({ kind: 'dead', code, raw });
        },
      });
      expect(got.length, `seed ${SEED} datagram ${i}`).toBe(wanted.length);
      for (let k = 0; k < got.length; k++) {
        const a = got[k] as Expected;
        const e = wanted[k] as Expected;
        const aBytes = a.kind === 'frame' ? a.data : a.raw;
        const eBytes = e.kind === 'frame' ? e.data : e.raw;
        if (a.kind !== e.kind || !aBytes.equals(eBytes)) throw new Error(`seed ${SEED} datagram ${i}: output ${k} differs`);
        if (a.kind === 'frame') parseChecked(a.data, a.truncated, `seed ${SEED} datagram ${i}`);
        else totals.framingDead++;
      }
      totals.udpDatagrams++;
    }
  });

  afterAll(() => {
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `framing-parse fuzz: seed ${SEED}: ${totals.framesGenerated} stream frames (${(totals.bytes / 1e6).toFixed(1)} MB, ` +
        `${totals.pushes} pushes) + ${totals.udpDatagrams} datagrams in ${seconds.toFixed(1)} s; ` +
        `framer outputs ${totals.framerOutputs}, parsed ${totals.parsed}, parse dead ${totals.parseDead} ` +
        `${JSON.stringify(Object.fromEntries(totals.parseDeadByCode))}, framing dead ${totals.framingDead}, ` +
        `empty octet bodies ${totals.silentlyEmpty}`,
    );
  });

});

// ---------------------------------------------------------------------------------------------------
// Explicit hostile cases

type Out = { readonly frame: string; readonly truncated: boolean } | { readonly dead: DeadReasonCode; readonly raw: string };

function frameAll(chunks: readonly Buffer[], options: FramingOptions): Out[] {
  const out: Out[] = [];
  const framer = new StreamFramer(options, {
    frame: (data, truncated) => out.push({ frame: data.toString('latin1'), truncated }),
    dead: (code, reason, raw) => {
      expect(reason).not.toBe('');
      out.push({ dead: code, raw: raw.toString('latin1') });
    },
  });
  for (const chunk of chunks) {
    framer.push(chunk);
    expect(framer.bufferedBytes).toBeLessThanOrEqual(options.maxFrameBytes + 1);
  }
  framer.end();
  return out;
}

/** Whole, then byte by byte: the answer must not depend on how TCP cut the stream. */
function frameBoth(input: Buffer | string, options: FramingOptions): Out[] {
  const buf = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const whole = frameAll([buf], options);
  const bytes = frameAll(Array.from(buf, (x) => Buffer.from([x])), options);
  expect(bytes).toEqual(whole);
  return whole;
}

const SMALL: FramingOptions = { maxFrameBytes: 32, oversize: 'truncate' };
const SMALL_DL: FramingOptions = { maxFrameBytes: 32, oversize: 'dead_letter' };
const LEGIT = '<13>a=1 b=2';
const oct = (s: string): string => `${Buffer.byteLength(s, 'latin1')} ${s}`;

describe('framing + parsing: explicit hostile cases', () => {
  it('0-byte frames: nothing on LF / UDP, bad prefix for "0 " in octet mode, "empty" from the parser', () => {
    expect(frameBoth('\n\r\n\n', SMALL)).toEqual([]);
    expect(frameBoth(`${oct(LEGIT)}0 \n${oct(LEGIT)}`, SMALL)).toEqual([
      { frame: LEGIT, truncated: false },
      { dead: 'bad_length_prefix', raw: '0 ' },
      { frame: LEGIT, truncated: false },
    ]);
    const got: string[] = [];
    splitDatagram(Buffer.alloc(0), SMALL, { frame: () => got.push('frame'), dead: () => got.push('dead') });
    expect(got).toEqual([]);
    const result = parseFrame(Buffer.alloc(0), ORIGIN);
    expect(result).toMatchObject({ ok: false, code: 'empty' });
  });

  it('max_frame_bytes exactly passes whole; max + 1 is truncated or dead-lettered (octet, LF, UDP)', () => {
    const atMax = 'k=' + 'v'.repeat(SMALL.maxFrameBytes - 2);
    const over = atMax + 'w';
    expect(frameBoth(oct(atMax) + oct(over) + oct(LEGIT), SMALL)).toEqual([
      { frame: atMax, truncated: false },
      { frame: atMax, truncated: true },
      { frame: LEGIT, truncated: false },
    ]);
    expect(frameBoth(oct(atMax) + oct(over) + oct(LEGIT), SMALL_DL)).toEqual([
      { frame: atMax, truncated: false },
      { dead: 'frame_too_large', raw: atMax },
      { frame: LEGIT, truncated: false },
    ]);
    expect(frameBoth(`${atMax}\n${over}\n${atMax}\r\n${LEGIT}`, SMALL_DL)).toEqual([
      { frame: atMax, truncated: false },
      { dead: 'frame_too_large', raw: atMax },
      { frame: atMax, truncated: false },
      { frame: LEGIT, truncated: false },
    ]);
    const udp: Out[] = [];
    const handlers = {
      frame: (data: Buffer, truncated: boolean) => udp.push({ frame: data.toString('latin1'), truncated }),
      dead: (code: DeadReasonCode, _reason: string, raw: Buffer) => udp.push({ dead: code, raw: raw.toString('latin1') }),
    };
    splitDatagram(Buffer.from(atMax), SMALL, handlers);
    splitDatagram(Buffer.from(over), SMALL, handlers);
    expect(udp).toEqual([
      { frame: atMax, truncated: false },
      { frame: atMax, truncated: true },
    ]);
    expect(parseFrame(Buffer.from(atMax), ORIGIN, { truncated: true }).ok).toBe(true);
  });

  it('length prefixes that lie: larger, smaller, 0, 10 digits, negative-looking, non-digits', () => {
    const first = oct(LEGIT);
    // Larger than the data: the frame waits for bytes that never come, then the peer leaves.
    expect(frameBoth(`${first}20 ${LEGIT}`, SMALL)).toEqual([
      { frame: LEGIT, truncated: false },
      { dead: 'frame_truncated_by_peer', raw: LEGIT },
    ]);
    // Smaller: the frame is cut, the rest is a bad prefix up to the next LF, then resync.
    expect(frameBoth(`${first}4 ${LEGIT}\n${first}`, SMALL)).toEqual([
      { frame: LEGIT, truncated: false },
      { frame: '<13>', truncated: false },
      { dead: 'bad_length_prefix', raw: 'a=1 b=2' },
      { frame: LEGIT, truncated: false },
    ]);
    for (const [prefix, raw] of [
      ['0 ', '0 '],
      ['1234567890 ', '1234567890 '],
      ['-11 ', '-11 '],
      ['11x ', '11x '],
      ['011 ', '011 '],
      ['x11 ', 'x11 '],
    ] as const) {
      expect(frameBoth(`${first}${prefix}${LEGIT}\n${first}`, SMALL), prefix).toEqual([
        { frame: LEGIT, truncated: false },
        { dead: 'bad_length_prefix', raw: `${raw}${LEGIT}` },
        { frame: LEGIT, truncated: false },
      ]);
    }
    // As the first frame of a connection, the same bytes are simply an LF-framed line.
    for (const prefix of ['1234567890 ', '-11 ', '11x ']) {
      expect(frameBoth(`${prefix}${LEGIT}\n`, { maxFrameBytes: 64, oversize: 'truncate' })).toEqual([
        { frame: `${prefix}${LEGIT}`, truncated: false },
      ]);
    }
    // A 9-digit prefix (huge announced length) never makes the framer allocate more than max.
    expect(frameBoth(`999999999 ${'x'.repeat(100)}`, SMALL)).toEqual([
      { frame: 'x'.repeat(32), truncated: true },
    ]);
  });

  it('invalid UTF-8 and NUL bytes: framed as bytes, parsed or dead-lettered, never thrown', () => {
    const frames = [
      Buffer.concat([Buffer.from('<189>a="'), b(0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80), Buffer.from('" b=2')]),
      Buffer.concat([Buffer.from('<189>a=1'), b(0x00, 0x00), Buffer.from(' b="x'), b(0x00), Buffer.from('y" c=3')]),
      b(0x00, 0x00, 0x00, 0x00),
      b(0xff, 0xff, 0xff, 0xff, 0xff),
      Buffer.concat([Buffer.from('user="'), b(0xc0, 0xaf, 0x80), Buffer.from('"')]),
    ];
    const stream = Buffer.concat(frames.flatMap((f) => [Buffer.from(`${f.length} `), f]));
    const out = frameBoth(stream, { maxFrameBytes: 1024, oversize: 'truncate' });
    expect(out).toHaveLength(frames.length);
    for (const [i, frame] of frames.entries()) {
      expect(out[i]).toEqual({ frame: frame.toString('latin1'), truncated: false });
      const result = parseFrame(frame, ORIGIN);
      if (!result.ok) expect(PARSE_CODES.has(result.code)).toBe(true);
    }
    expect(parseFrame(frames[2] as Buffer, ORIGIN)).toMatchObject({ ok: false, code: 'binary' });
    expect(parseFrame(frames[3] as Buffer, ORIGIN)).toMatchObject({ ok: false, code: 'binary' });
    const nul = parseFrame(frames[1] as Buffer, ORIGIN);
    expect(nul.ok).toBe(true);
  });

  it('a line with 10,000 pairs: framed whole, parsed with the field cap, quickly', () => {
    const out = frameAll([TEN_THOUSAND_PAIRS, Buffer.from('\n')], { maxFrameBytes: 1024 * 1024, oversize: 'truncate' });
    expect(out).toHaveLength(1);
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) {
      const result = parseFrame(TEN_THOUSAND_PAIRS, ORIGIN);
      expect(result.ok).toBe(true);
      if (result.ok) {
        expect(getField(result.event, 'fortistream.truncated_fields')).toBe('true');
        expect(result.event.fields.length / 2).toBeLessThan(DEFAULT_MAX_FIELDS + 100);
      }
    }
    // Informational only (no wall-clock assertion): printed for the record.
    console.log(`10,000-pair line (${TEN_THOUSAND_PAIRS.length} bytes): ${((performance.now() - t0) / 20).toFixed(2)} ms per parse`);
  });
});
