import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getField, type FrameOrigin } from '../../../src/parse/event.js';
import { parseFrame } from '../../../src/parse/index.js';

/** One hand-written sample line (never a corpus copy) and what the parser must make of it. */
interface Case {
  readonly name: string;
  /** The frame as text, or null when `bytesHex` gives the raw bytes. */
  readonly line: string | null;
  readonly bytesHex?: string;
  readonly truncated?: boolean;
  readonly expect?: Readonly<Record<string, string>>;
  readonly absent?: readonly string[];
  readonly dead?: string;
}

const cases = JSON.parse(
  readFileSync(new URL('../../fixtures/parse/cases.json', import.meta.url), 'utf8'),
) as readonly Case[];

export const TEST_ORIGIN: FrameOrigin = {
  source: 'test',
  peer: '192.0.2.1:514',
  receivedAtMs: Date.UTC(2025, 5, 1, 10, 31, 0),
};

function frameOf(c: Case): Buffer | string {
  if (c.bytesHex !== undefined) return Buffer.from(c.bytesHex, 'hex');
  return c.line ?? '';
}

describe('parseFrame fixtures (test/fixtures/parse/cases.json)', () => {
  it('has cases', () => {
    expect(cases.length).toBeGreaterThan(40);
  });

  for (const c of cases) {
    it(c.name, () => {
      const result = parseFrame(frameOf(c), TEST_ORIGIN, { truncated: c.truncated === true });
      if (c.dead !== undefined) {
        expect(result.ok).toBe(false);
        if (!result.ok) {
          expect(result.code).toBe(c.dead);
          expect(result.reason.length).toBeGreaterThan(0);
        }
        return;
      }
      if (!result.ok) throw new Error(`dead-lettered: ${result.code} ${result.reason}`);
      const fields = result.event.fields;
      expect(fields.length % 2).toBe(0);
      const names = fields.filter((_, i) => i % 2 === 0);
      expect(new Set(names).size, 'field names are unique').toBe(names.length);
      for (const value of fields) expect(value).not.toMatch(/[\u0000-\u001f\u007f]/);
      for (const [name, value] of Object.entries(c.expect ?? {})) {
        expect(getField(result.event, name), name).toBe(value);
      }
      for (const name of c.absent ?? []) expect(getField(result.event, name), name).toBeUndefined();
      expect(new Date(result.event.timeMs).toISOString()).toBe(getField(result.event, '@timestamp'));
    });
  }
});

describe('parseFrame limits', () => {
  it('reads a 10,000-pair line quickly and marks it truncated at maxFields', () => {
    const parts = ['<189>date=2025-06-01 time=12:30:45 tz="+0200" srcip=10.20.30.40'];
    for (let i = 0; i < 10_000; i++) parts.push(`k${i}="v${i}"`);
    const started = performance.now();
    const result = parseFrame(parts.join(' '), TEST_ORIGIN);
    const elapsed = performance.now() - started;
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(getField(result.event, 'fortistream.truncated_fields')).toBe('true');
    expect(getField(result.event, 'source.ip')).toBe('10.20.30.40');
    expect(getField(result.event, 'fortinet.firewall.k0')).toBe('v0');
    expect(getField(result.event, 'fortinet.firewall.k5000')).toBeUndefined();
    // Not a throughput assertion: only a guard against quadratic behaviour (seconds, not ms).
    expect(elapsed).toBeLessThan(2000);
  });

  it('honours a custom maxFields', () => {
    const result = parseFrame('a=1 b=2 c=3 d=4', TEST_ORIGIN, { maxFields: 2 });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(getField(result.event, 'fortinet.firewall.b')).toBe('2');
    expect(getField(result.event, 'fortinet.firewall.c')).toBeUndefined();
    expect(getField(result.event, 'fortistream.truncated_fields')).toBe('true');
  });

  it('returns fresh arrays: a later parse does not change an earlier event', () => {
    const first = parseFrame('srcip=10.0.0.1 user="a"', TEST_ORIGIN);
    const second = parseFrame('srcip=10.0.0.2 user="b"', TEST_ORIGIN);
    expect(first.ok && second.ok).toBe(true);
    if (!first.ok || !second.ok) return;
    expect(getField(first.event, 'source.ip')).toBe('10.0.0.1');
    expect(getField(second.event, 'source.ip')).toBe('10.0.0.2');
  });

  it('accepts the same line as Buffer and as string', () => {
    const line = '<189>date=2025-06-01 time=12:30:45 tz="+0200" srcip=10.20.30.40 msg="é ü"';
    const a = parseFrame(line, TEST_ORIGIN);
    const b = parseFrame(Buffer.from(line, 'utf8'), TEST_ORIGIN);
    expect(a).toEqual(b);
  });
});
