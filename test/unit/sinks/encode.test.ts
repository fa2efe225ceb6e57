import { describe, expect, it } from 'vitest';
import { command, EncodedBatch, TRIM_EVERY, XaddEncoder } from '../../../src/sinks/resp/encode.js';

const target = { key: 'fortistream:events:soc', maxLen: 1000, trim: 'each' as const };

/** What the XADD must be, byte for byte: the reference encoder (byteLength per argument). */
function reference(fields: readonly string[], id: string | undefined, trims: boolean): Buffer {
  const args = ['XADD', target.key, ...(trims ? ['MAXLEN', '~', String(target.maxLen)] : []), id ?? '*', ...fields];
  return Buffer.from(command(...args), 'utf8');
}

function encode(encoder: XaddEncoder, entries: readonly (readonly string[])[], ids: readonly (string | undefined)[]): { bytes: Buffer; fieldBytes: number } {
  const out = new EncodedBatch(Buffer.alloc(64));
  const prelude = encoder.prelude(target);
  entries.forEach((fields, i) => encoder.appendEntry(out, prelude, fields, ids[i], i, i === entries.length - 1));
  return { bytes: Buffer.from(out.bytes()), fieldBytes: out.fieldBytes };
}

/** A small seeded PRNG, so a failure reproduces. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('XaddEncoder', () => {
  it('writes exactly the reference bytes: cached pieces, long values, non-ASCII names and values, auto and explicit ids, trims', () => {
    const random = rng(42);
    const names = ['@timestamp', 'source.ip', 'fortinet.firewall.srcintfrole', 'user.name', 'message', 'fortinet.firewall.zoné', 'fortinet.firewall.Łódź'];
    const values = ['', 'a', '10.1.2.3', 'x'.repeat(255), 'y'.repeat(256), 'z'.repeat(3000), 'Grüße', '€ 5', 'line\r\nbreak', '日本語'];
    const entries: string[][] = [];
    const ids: (string | undefined)[] = [];
    for (let e = 0; e < 300; e += 1) {
      const fields: string[] = [];
      const count = 1 + Math.floor(random() * 8);
      for (let f = 0; f < count; f += 1) fields.push(names[Math.floor(random() * names.length)] as string, values[Math.floor(random() * values.length)] as string);
      entries.push(fields);
      ids.push(random() < 0.5 ? undefined : `1700000000000-${e}`);
    }
    const encoder = new XaddEncoder();
    // Twice: the second pass hits the cached pieces.
    for (let pass = 0; pass < 2; pass += 1) {
      const { bytes, fieldBytes } = encode(encoder, entries, ids);
      const expected = Buffer.concat(entries.map((fields, i) => reference(fields, ids[i], i === entries.length - 1 || i % TRIM_EVERY === 0)));
      expect(bytes.equals(expected)).toBe(true);
      expect(fieldBytes).toBe(entries.flat().reduce((sum, text) => sum + Buffer.byteLength(text, 'utf8'), 0));
    }
  });

  it('never writes a name altered by the latin1 copy of a cached piece (names outside Latin-1 and ASCII lookalikes)', () => {
    // U+0141 would become 0x41 ("A") through latin1: such names must not be cached.
    const fields = ['fortinet.firewall.\u0141ab', 'v', 'fortinet.firewall.\u0100', 'w'];
    const encoder = new XaddEncoder();
    for (let i = 0; i < 3; i += 1) {
      expect(encode(encoder, [fields], ['1-1']).bytes.equals(reference(fields, '1-1', true))).toBe(true);
    }
  });
});
