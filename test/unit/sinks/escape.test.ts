import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeControlChars, safeRawText } from '../../../src/sinks/escape.js';

/** Reverses `escapeControlChars` (test-only): proves the escaping is unambiguous. */
function unescape(text: string): string {
  return text.replace(/\\(n|r|t|\\|x[0-9a-f]{2}|u[0-9a-f]{4})/g, (_match, code: string) => {
    if (code === 'n') return '\n';
    if (code === 'r') return '\r';
    if (code === 't') return '\t';
    if (code === '\\') return '\\';
    return String.fromCharCode(parseInt(code.slice(1), 16));
  });
}

describe('escapeControlChars', () => {
  it('returns clean text unchanged (same string)', () => {
    const text = 'date=2026-12-04 msg="héllo wörld ✓" user="ü"';
    expect(escapeControlChars(text)).toBe(text);
    expect(escapeControlChars('')).toBe('');
  });

  it('escapes LF, CR, TAB with their short forms', () => {
    expect(escapeControlChars('a\nb\rc\td')).toBe('a\\nb\\rc\\td');
  });

  it('escapes other C0 controls and DEL as \\xNN', () => {
    expect(escapeControlChars('\u0000\u0001\u001b[31m\u007f')).toBe('\\x00\\x01\\x1b[31m\\x7f');
  });

  it('escapes backslashes so the output is unambiguous', () => {
    expect(escapeControlChars('msg="a \\"quoted\\" word" path=C:\\x41')).toBe(
      'msg="a \\\\"quoted\\\\" word" path=C:\\\\x41',
    );
  });

  it('escapes C1 controls and Unicode line separators as \\uNNNN', () => {
    expect(escapeControlChars('a\u0085b\u2028c\u2029d\u009b')).toBe('a\\u0085b\\u2028c\\u2029d\\u009b');
  });

  it('never leaves a control character or line break, and round-trips (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        const escaped = escapeControlChars(text);
        expect(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(escaped)).toBe(false);
        expect(unescape(escaped)).toBe(text);
      }),
    );
  });
});

describe('safeRawText', () => {
  it('keeps a short line whole', () => {
    const raw = Buffer.from('<189>date=2026-12-04 msg="x"\n');
    expect(safeRawText(raw, 4096)).toEqual({ text: '<189>date=2026-12-04 msg="x"\\n', bytes: raw.length, truncated: false });
  });

  it('caps at maxBytes and reports the original length', () => {
    const raw = Buffer.from('a'.repeat(5000));
    const safe = safeRawText(raw, 4096);
    expect(safe.text).toBe('a'.repeat(4096));
    expect(safe.bytes).toBe(5000);
    expect(safe.truncated).toBe(true);
  });

  it('does not split a multi-byte character at the cap', () => {
    const raw = Buffer.from('ab€cd'); // € is 3 bytes: a b [e2 82 ac] c d
    expect(safeRawText(raw, 3)).toEqual({ text: 'ab', bytes: 7, truncated: true });
    expect(safeRawText(raw, 4)).toEqual({ text: 'ab', bytes: 7, truncated: true });
    expect(safeRawText(raw, 5)).toEqual({ text: 'ab€', bytes: 7, truncated: true });
    expect(safeRawText(raw, 6)).toEqual({ text: 'ab€c', bytes: 7, truncated: true });
  });

  it('replaces invalid UTF-8 with U+FFFD and escapes NUL bytes', () => {
    const raw = Buffer.from([0x61, 0xff, 0x00, 0x62, 0xc3]);
    expect(safeRawText(raw, 100)).toEqual({ text: 'a\ufffd\\x00b\ufffd', bytes: 5, truncated: false });
  });

  it('handles an empty line and a zero cap', () => {
    expect(safeRawText(Buffer.alloc(0), 10)).toEqual({ text: '', bytes: 0, truncated: false });
    expect(safeRawText(Buffer.from('abc'), 0)).toEqual({ text: '', bytes: 3, truncated: true });
  });
});
