import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StreamFramer, splitDatagram, type FramingOptions } from '../../../src/sources/syslog/framing.js';

type Out =
  | { readonly frame: string; readonly truncated: boolean }
  | { readonly dead: string; readonly raw: string };

const DEFAULTS: FramingOptions = { maxFrameBytes: 1024, oversize: 'truncate' };

/** Feeds the chunks to a fresh framer, ends it, returns everything it produced, in order. */
function frameChunks(chunks: readonly (string | Buffer)[], options: FramingOptions = DEFAULTS): Out[] {
  const out: Out[] = [];
  const framer = new StreamFramer(options, {
    frame: (data, truncated) => out.push({ frame: data.toString('latin1'), truncated }),
    dead: (code, _reason, raw) => out.push({ dead: code, raw: raw.toString('latin1') }),
  });
  for (const chunk of chunks) framer.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
  framer.end();
  return out;
}

const f = (frame: string, truncated = false): Out => ({ frame, truncated });
const d = (dead: string, raw: string): Out => ({ dead, raw });
const octet = (msg: string): string => `${Buffer.byteLength(msg, 'latin1')} ${msg}`;

/** Asserts the expected output for the whole input, for every single split point and byte by byte. */
function expectAllSplits(input: string, expected: readonly Out[], options: FramingOptions = DEFAULTS): void {
  expect(frameChunks([input], options)).toEqual(expected);
  for (let i = 0; i <= input.length; i++) {
    expect(frameChunks([input.slice(0, i), input.slice(i)], options), `split at ${i}`).toEqual(expected);
  }
  expect(frameChunks([...input], options), 'byte by byte').toEqual(expected);
}

const LINE_A = '<189>date=2024-01-01 time=10:00:00 devname="fw1" logid="0100032001" user="admin"';
const LINE_B = '<190>date=2024-01-01 time=10:00:01 devname="fw1" msg="x y"';

describe('StreamFramer: octet counting', () => {
  it('takes exactly MSG-LEN bytes per frame, at every split point', () => {
    expectAllSplits(octet(LINE_A) + octet(LINE_B) + octet('x'), [f(LINE_A), f(LINE_B), f('x')]);
  });

  it('keeps LF bytes inside an octet frame and strips a trailing (CR)LF counted into MSG-LEN', () => {
    expectAllSplits(octet('a\nb') + octet('c\r\n') + octet('d\n'), [f('a\nb'), f('c'), f('d')]);
  });

  it('tolerates stray CR/LF between frames', () => {
    expectAllSplits(`\r\n${octet('one')}\n${octet('two')}\r\n\n${octet('three')}\n`, [
      f('one'),
      f('two'),
      f('three'),
    ]);
  });

  it('many frames in one chunk', () => {
    const messages = Array.from({ length: 500 }, (_, i) => `msg ${i} ${'x'.repeat(i % 17)}`);
    expect(frameChunks([messages.map(octet).join('')])).toEqual(messages.map((m) => f(m)));
  });

  it('dead-letters a non-digit prefix up to the next LF and resynchronises, staying in octet mode', () => {
    expectAllSplits(`${octet('first')}garbage here\n${octet('second')}plain line\n${octet('third')}`, [
      f('first'),
      d('bad_length_prefix', 'garbage here'),
      f('second'),
      d('bad_length_prefix', 'plain line'),
      f('third'),
    ]);
  });

  it('length 0 and a leading zero are bad prefixes', () => {
    expectAllSplits(`${octet('a')}0 \n${octet('b')}012 abcdefghijkl\n${octet('c')}`, [
      f('a'),
      d('bad_length_prefix', '0 '),
      f('b'),
      d('bad_length_prefix', '012 abcdefghijkl'),
      f('c'),
    ]);
  });

  it('more than 9 digits is a bad prefix', () => {
    expectAllSplits(`${octet('a')}1234567890 xyz\n${octet('b')}`, [
      f('a'),
      d('bad_length_prefix', '1234567890 xyz'),
      f('b'),
    ]);
  });

  it('digits not followed by SP are a bad prefix (CR before the LF is not kept)', () => {
    expectAllSplits(`${octet('a')}12abc\r\n42\n${octet('b')}`, [
      f('a'),
      d('bad_length_prefix', '12abc'),
      d('bad_length_prefix', '42'),
      f('b'),
    ]);
  });

  it('a lying length waits for more data, and the peer ending mid-frame is a dead letter', () => {
    expectAllSplits(`${octet('ok')}100 only a few bytes`, [
      f('ok'),
      d('frame_truncated_by_peer', 'only a few bytes'),
    ]);
  });

  it('a lying length swallows the following frames (that is what octet counting means)', () => {
    expectAllSplits(`20 short${octet('next')}abcdefghi${octet('z')}`, [f('short4 nextabcdefghi'), f('z')]);
  });

  it('the connection ending inside a length prefix is a dead letter', () => {
    expect(frameChunks([octet('a'), '12'])).toEqual([f('a'), d('frame_truncated_by_peer', '12')]);
  });

  it('oversize truncate: emits the first max bytes marked truncated, skips the rest, stays usable', () => {
    const options: FramingOptions = { maxFrameBytes: 8, oversize: 'truncate' };
    expectAllSplits(octet('0123456789abcdef') + octet('small') + octet('12345678') + octet('123456789'), [
      f('01234567', true),
      f('small'),
      f('12345678'),
      f('12345678', true),
    ], options);
  });

  it('oversize dead_letter: frame_too_large with the first max bytes, stays usable', () => {
    const options: FramingOptions = { maxFrameBytes: 8, oversize: 'dead_letter' };
    expectAllSplits(octet('0123456789abcdef') + octet('small'), [
      d('frame_too_large', '01234567'),
      f('small'),
    ], options);
  });

  it('an oversized frame cut by the peer after its head was emitted produces nothing more', () => {
    const options: FramingOptions = { maxFrameBytes: 4, oversize: 'truncate' };
    expect(frameChunks(['10 abcdef'], options)).toEqual([f('abcd', true)]);
  });

  it('does not buffer the skipped rest of an oversized frame', () => {
    const options: FramingOptions = { maxFrameBytes: 16, oversize: 'truncate' };
    const out: Out[] = [];
    const framer = new StreamFramer(options, {
      frame: (data, truncated) => out.push({ frame: data.toString('latin1'), truncated }),
      dead: (code, _r, raw) => out.push({ dead: code, raw: raw.toString('latin1') }),
    });
    framer.push(Buffer.from('100000000 '));
    const block = Buffer.alloc(1_000_000, 0x61);
    for (let i = 0; i < 99; i++) framer.push(block);
    framer.push(Buffer.alloc(1_000_000, 0x62));
    framer.push(Buffer.from(octet('after')));
    framer.end();
    expect(out).toEqual([f('a'.repeat(16), true), f('after')]);
  });
});

describe('StreamFramer: LF framing', () => {
  it('splits on LF, strips a trailing CR, skips empty lines, at every split point', () => {
    expectAllSplits(`${LINE_A}\r\n\n\r\n${LINE_B}\nlast\n`, [f(LINE_A), f(LINE_B), f('last')]);
  });

  it('emits an unterminated last line at end', () => {
    expectAllSplits(`${LINE_A}\nno newline`, [f(LINE_A), f('no newline')]);
  });

  it('a first frame starting with digits but no SP after them is a line', () => {
    expectAllSplits('2026-04-03T00:31:09Z 192.168.2.1 date=x\n123\n12 not octet any more\n', [
      f('2026-04-03T00:31:09Z 192.168.2.1 date=x'),
      f('123'),
      f('12 not octet any more'),
    ]);
  });

  it('a lone run of digits then EOF is a line', () => {
    expect(frameChunks(['12345'])).toEqual([f('12345')]);
  });

  it('10 leading digits then SP is a line, not a prefix', () => {
    expect(frameChunks(['1234567890 text\n'])).toEqual([f('1234567890 text')]);
  });

  it('oversize truncate: first max bytes, rest discarded up to LF, next line fine', () => {
    const options: FramingOptions = { maxFrameBytes: 8, oversize: 'truncate' };
    expectAllSplits('0123456789abcdef\nsmall\n12345678\r\n123456789\nend', [
      f('01234567', true),
      f('small'),
      f('12345678'),
      f('12345678', true),
      f('end'),
    ], options);
  });

  it('oversize dead_letter in LF mode', () => {
    const options: FramingOptions = { maxFrameBytes: 8, oversize: 'dead_letter' };
    expectAllSplits('<1>0123456789abcdef\nsmall\n', [d('frame_too_large', '<1>01234'), f('small')], options);
  });

  it('does not buffer an endless line', () => {
    const options: FramingOptions = { maxFrameBytes: 10, oversize: 'truncate' };
    const out: Out[] = [];
    const framer = new StreamFramer(options, {
      frame: (data, truncated) => out.push({ frame: data.toString('latin1'), truncated }),
      dead: (code, _r, raw) => out.push({ dead: code, raw: raw.toString('latin1') }),
    });
    framer.push(Buffer.from('<'));
    for (let i = 0; i < 200; i++) framer.push(Buffer.alloc(1_000_000, 0x61));
    framer.push(Buffer.from('tail\nnext\n'));
    framer.end();
    expect(out).toEqual([f('<aaaaaaaaa', true), f('next')]);
  });
});

describe('StreamFramer: edge cases', () => {
  it('empty input and only stray newlines produce nothing', () => {
    expect(frameChunks([])).toEqual([]);
    expect(frameChunks([''])).toEqual([]);
    expect(frameChunks(['\n\r\n\n'])).toEqual([]);
  });

  it('reports the detected mode', () => {
    const framer = new StreamFramer(DEFAULTS, { frame: () => undefined, dead: () => undefined });
    expect(framer.mode).toBe('detect');
    framer.push(Buffer.from('\n3'));
    expect(framer.mode).toBe('detect');
    framer.push(Buffer.from(' abc'));
    expect(framer.mode).toBe('octet');
    const lines = new StreamFramer(DEFAULTS, { frame: () => undefined, dead: () => undefined });
    lines.push(Buffer.from('<'));
    expect(lines.mode).toBe('lf');
  });

  it('ignores data pushed after end()', () => {
    const out: string[] = [];
    const framer = new StreamFramer(DEFAULTS, { frame: (b) => out.push(b.toString()), dead: () => undefined });
    framer.push(Buffer.from('a\n'));
    framer.end();
    framer.push(Buffer.from('b\n'));
    framer.end();
    expect(out).toEqual(['a']);
  });

  it('property: any octet-framed messages under any chunking come out unchanged', () => {
    const message = fc
      .uint8Array({ minLength: 1, maxLength: 60 })
      .map((bytes) => Buffer.from(bytes))
      .filter((b) => b[b.length - 1] !== 0x0a && b[b.length - 1] !== 0x0d);
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 20 }), fc.array(fc.nat(), { maxLength: 10 }), (messages, cuts) => {
        const wire = Buffer.concat(messages.map((m) => Buffer.concat([Buffer.from(`${m.length} `), m])));
        const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let last = 0;
        for (const p of points) {
          chunks.push(wire.subarray(last, p));
          last = p;
        }
        chunks.push(wire.subarray(last));
        const out = frameChunks(chunks, { maxFrameBytes: 1024, oversize: 'truncate' });
        expect(out).toEqual(messages.map((m) => f(m.toString('latin1'))));
      }),
    );
  });

  it('property: LF-framed lines under any chunking come out unchanged', () => {
    const line = fc
      .string({ unit: fc.constantFrom('a', 'b', '=', '"', ' ', '<', '>'), minLength: 1, maxLength: 40 })
      .filter((s) => !/^[1-9]/.test(s));
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 20 }), fc.array(fc.nat(), { maxLength: 10 }), (lines, cuts) => {
        const wire = lines.map((l) => `${l}\n`).join('');
        const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
        const chunks: string[] = [];
        let last = 0;
        for (const p of points) {
          chunks.push(wire.slice(last, p));
          last = p;
        }
        chunks.push(wire.slice(last));
        expect(frameChunks(chunks)).toEqual(lines.map((l) => f(l)));
      }),
    );
  });
});

describe('splitDatagram', () => {
  const split = (datagram: string, options: FramingOptions = DEFAULTS): Out[] => {
    const out: Out[] = [];
    splitDatagram(Buffer.from(datagram, 'latin1'), options, {
      frame: (data, truncated) => out.push({ frame: data.toString('latin1'), truncated }),
      dead: (code, _r, raw) => out.push({ dead: code, raw: raw.toString('latin1') }),
    });
    return out;
  };

  it('one datagram is one log; trailing LF/CRLF is fine', () => {
    expect(split(LINE_A)).toEqual([f(LINE_A)]);
    expect(split(`${LINE_A}\n`)).toEqual([f(LINE_A)]);
    expect(split(`${LINE_A}\r\n`)).toEqual([f(LINE_A)]);
  });

  it('splits several LF-separated logs and skips empty lines', () => {
    expect(split(`${LINE_A}\n\n${LINE_B}\r\nthird`)).toEqual([f(LINE_A), f(LINE_B), f('third')]);
    expect(split('')).toEqual([]);
    expect(split('\n\n')).toEqual([]);
  });

  it('octet-looking datagrams are taken literally', () => {
    expect(split('5 hello')).toEqual([f('5 hello')]);
  });

  it('applies max_frame_bytes per log', () => {
    expect(split('0123456789\nok\n', { maxFrameBytes: 4, oversize: 'truncate' })).toEqual([f('0123', true), f('ok')]);
    expect(split('0123456789\nok', { maxFrameBytes: 4, oversize: 'dead_letter' })).toEqual([
      d('frame_too_large', '0123'),
      f('ok'),
    ]);
  });
});
