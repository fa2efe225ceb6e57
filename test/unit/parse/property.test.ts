import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseFrame } from '../../../src/parse/index.js';

const origin = { source: 'prop', peer: '192.0.2.1:514', receivedAtMs: Date.UTC(2025, 0, 1) };

function checkResult(data: Buffer | string): void {
  const result = parseFrame(data, origin);
  if (result.ok) {
    const fields = result.event.fields;
    expect(fields.length % 2).toBe(0);
    for (const value of fields) expect(typeof value).toBe('string');
    expect(Number.isFinite(result.event.timeMs)).toBe(true);
    const names = fields.filter((_, i) => i % 2 === 0);
    expect(new Set(names).size).toBe(names.length);
  } else {
    expect(result.code.length).toBeGreaterThan(0);
    expect(result.reason.length).toBeGreaterThan(0);
  }
}

// Fragments that steer random input into the interesting branches (envelopes, quotes, escapes, CEF).
const fragment = fc.constantFrom(
  '<189>',
  '<165>1 ',
  'CEF:0|',
  '0|Fortinet|',
  '|',
  'Dec 23 11:13:03 ',
  '2026-04-03T00:31:09.976660+00:00 ',
  'srcip=',
  'user=',
  'eventtime=',
  'date=2025-01-01',
  'time=10: 13:03',
  'tz="UTC-5:00"',
  '="',
  '"',
  '\\"',
  '\\\\',
  '\\=',
  ' ',
  ',',
  '=',
  '\u0000',
  '\ufeff',
  'N/A',
  '[a="]"]',
);

describe('parseFrame never throws', () => {
  it('arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => checkResult(s)), { numRuns: 2000 });
  });

  it('arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => checkResult(Buffer.from(bytes))),
      { numRuns: 2000 },
    );
  });

  it('syslog-shaped fragments', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fragment, fc.string({ maxLength: 8 })), { maxLength: 40 }), (parts) =>
        checkResult(parts.join('')),
      ),
      { numRuns: 3000 },
    );
  });
});
