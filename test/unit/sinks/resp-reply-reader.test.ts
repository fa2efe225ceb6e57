import { describe, expect, it } from 'vitest';
import { EncodedBatch, XaddEncoder, command } from '../../../src/sinks/resp/encode.js';
import { RespProtocolError, RespReplyReader } from '../../../src/sinks/resp/reply-reader.js';
import { parseRedisUrl } from '../../../src/sinks/resp/connection.js';

/** Top-level replies as `ok` or the error text. */
function read(chunks: readonly Buffer[]): string[] {
  const replies: string[] = [];
  const reader = new RespReplyReader((error) => replies.push(error ?? 'ok'));
  for (const chunk of chunks) reader.feed(chunk);
  return replies;
}

const MULTI = Buffer.from(
  [
    '$15\r\n1733340181000-0\r\n',
    '+OK\r\n',
    '-ERR The ID specified in XADD is equal or smaller than the target stream top item\r\n',
    ':42\r\n',
    '$-1\r\n',
    '*-1\r\n',
    '*0\r\n',
    '$0\r\n\r\n',
    '*3\r\n$3\r\nfoo\r\n*2\r\n:1\r\n-inner error\r\n+x\r\n',
    '$8\r\nab\r\n\r\ncd\r\n', // a bulk string holding CRLF
    '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n',
    '*2\r\n*1\r\n*1\r\n:7\r\n$2\r\nhi\r\n',
  ].join(''),
  'latin1',
);
const EXPECTED = [
  'ok',
  'ok',
  'ERR The ID specified in XADD is equal or smaller than the target stream top item',
  'ok',
  'ok',
  'ok',
  'ok',
  'ok',
  'ok',
  'ok',
  'WRONGTYPE Operation against a key holding the wrong kind of value',
  'ok',
];

describe('RespReplyReader', () => {
  it('counts every top-level reply and reports top-level errors only', () => {
    expect(read([MULTI])).toEqual(EXPECTED);
  });

  it('gives the same replies whatever single split point the bytes arrive with', () => {
    for (let cut = 0; cut <= MULTI.length; cut += 1) {
      expect(read([MULTI.subarray(0, cut), MULTI.subarray(cut)])).toEqual(EXPECTED);
    }
  });

  it('gives the same replies for every pair of split points, and byte by byte', () => {
    for (let a = 1; a < MULTI.length; a += 1) {
      for (let b = a; b < MULTI.length; b += 7) {
        expect(read([MULTI.subarray(0, a), MULTI.subarray(a, b), MULTI.subarray(b)])).toEqual(EXPECTED);
      }
    }
    const bytes = Array.from({ length: MULTI.length }, (_, i) => MULTI.subarray(i, i + 1));
    expect(read(bytes)).toEqual(EXPECTED);
  });

  it('decodes UTF-8 error text split inside a character', () => {
    const reply = Buffer.from('-ERR Jürgen ✓\r\n', 'utf8');
    for (let cut = 0; cut <= reply.length; cut += 1) {
      expect(read([reply.subarray(0, cut), reply.subarray(cut)])).toEqual(['ERR Jürgen ✓']);
    }
  });

  it('rejects bytes that are not RESP2', () => {
    expect(() => read([Buffer.from('?what\r\n')])).toThrow(RespProtocolError);
    expect(() => read([Buffer.from('$x\r\n')])).toThrow(RespProtocolError);
  });
});

describe('XaddEncoder', () => {
  function encode(entries: string[][], ids?: { ms: number; firstSeq: number }, trim: 'each' | 'last' = 'each'): string {
    const encoder = new XaddEncoder();
    const out = new EncodedBatch(Buffer.allocUnsafe(16));
    encoder.append(out, encoder.prelude({ key: 's', maxLen: 10, trim }), entries, ids);
    return out.bytes().toString('utf8');
  }

  it('encodes one XADD per entry with MAXLEN ~ and byte lengths (non-ASCII too), growing the buffer', () => {
    expect(encode([['a', 'bc'], ['ü', '✓x']])).toBe(
      command('XADD', 's', 'MAXLEN', '~', '10', '*', 'a', 'bc') + command('XADD', 's', 'MAXLEN', '~', '10', '*', 'ü', '✓x'),
    );
    const long = 'y'.repeat(5000);
    expect(encode([['k', long]])).toBe(command('XADD', 's', 'MAXLEN', '~', '10', '*', 'k', long));
  });

  it('writes explicit ids and trims only on the last XADD when asked', () => {
    expect(encode([['a', '1'], ['a', '2']], { ms: 5, firstSeq: 9 }, 'last')).toBe(
      command('XADD', 's', '5-9', 'a', '1') + command('XADD', 's', 'MAXLEN', '~', '10', '5-10', 'a', '2'),
    );
  });

  it('counts the UTF-8 bytes of names and values', () => {
    const encoder = new XaddEncoder();
    const out = new EncodedBatch(Buffer.allocUnsafe(1));
    encoder.append(out, encoder.prelude({ key: 's', maxLen: 10, trim: 'each' }), [['a', 'bc'], ['ü', '✓']], undefined);
    expect(out.fieldBytes).toBe(3 + 2 + 3);
  });
});

describe('parseRedisUrl', () => {
  it('reads host, port, user, URL-decoded password and db', () => {
    expect(parseRedisUrl('redis://user:p%40ss%3Aw@example.org:6390/3')).toEqual({
      host: 'example.org',
      port: 6390,
      secure: false,
      username: 'user',
      password: 'p@ss:w',
      db: 3,
    });
    expect(parseRedisUrl('rediss://:pw@[::1]:7000')).toMatchObject({ host: '::1', port: 7000, secure: true, username: undefined, password: 'pw', db: 0 });
    expect(() => parseRedisUrl('http://x')).toThrow(/scheme/);
    expect(() => parseRedisUrl('redis://x/abc')).toThrow(/database/);
  });
});
