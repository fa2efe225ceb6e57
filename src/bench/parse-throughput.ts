/**
 * Parse throughput on one core: `parseFrame` over N generated lines, held in one buffer (as a socket's
 * chunks are) and parsed as subarrays. Two warm-up passes let the JIT settle; the best of three timed
 * passes is reported (the others lost time to the machine, not to the parser).
 */
import { parseFrame, type FrameOrigin } from '../parse/index.js';
import { createLineGenerator } from './fortigate-lines.js';

export interface ParseThroughput {
  readonly lines: number;
  readonly bytes: number;
  readonly lines_per_s: number;
  readonly mb_per_s: number;
  /** Lines that did not parse (the generator's lines all should). */
  readonly dead: number;
}

const TIMED_PASSES = 3;
/** Warm-up passes read at most this many lines each: enough for the JIT, cheap for a large N. */
const WARM_UP_LINES = 50_000;

export function measureParseThroughput(options: { events: number; seed: number }): ParseThroughput {
  const { data, offsets } = generateLines(options.events, options.seed);
  const bytes = data.length;
  const origin: FrameOrigin = { source: 'bench', peer: '127.0.0.1:514', receivedAtMs: Date.now() };

  const pass = (count: number): number => {
    let dead = 0;
    for (let i = 0; i < count; i += 1) {
      const result = parseFrame(data.subarray(offsets[i], offsets[i + 1]), origin);
      if (!result.ok) dead += 1;
    }
    return dead;
  };

  const warmUp = Math.min(options.events, WARM_UP_LINES);
  pass(warmUp);
  pass(warmUp);
  let best = Number.POSITIVE_INFINITY;
  let dead = 0;
  for (let round = 0; round < TIMED_PASSES; round += 1) {
    const started = process.hrtime.bigint();
    dead = pass(options.events);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    best = Math.min(best, seconds);
  }
  return {
    lines: options.events,
    bytes,
    lines_per_s: Math.round(options.events / best),
    mb_per_s: +(bytes / 1e6 / best).toFixed(1),
    dead,
  };
}

/**
 * The lines, back to back in one buffer, and where each starts and ends (ASCII: a byte per character).
 * Written line by line: one string of them all would pass V8's string length limit (~512 MB).
 */
function generateLines(events: number, seed: number): { data: Buffer; offsets: Uint32Array } {
  const generator = createLineGenerator({ seed });
  const offsets = new Uint32Array(events + 1);
  let data = Buffer.allocUnsafe(events * 900);
  let at = 0;
  for (let i = 0; i < events; i += 1) {
    const line = generator.next();
    if (at + line.length > data.length) {
      const grown = Buffer.allocUnsafe(Math.ceil((at + line.length) * 1.5));
      data.copy(grown, 0, 0, at);
      data = grown;
    }
    at += data.write(line, at, 'latin1');
    offsets[i + 1] = at;
  }
  return { data: data.subarray(0, at), offsets };
}
