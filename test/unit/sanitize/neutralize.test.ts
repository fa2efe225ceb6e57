import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_TRUNCATION_MARKER_LENGTH, capText, neutralizeControl, neutralizeText, truncationMarker } from '../../../src/sanitize/neutralize.js';

const opts = { maxChars: 200 };

describe('neutralizeText', () => {
  it('returns plain printable ASCII unchanged, as the same string', () => {
    const input = 'User admin login successfully from ssh(10.0.0.1)';
    const result = neutralizeText(input, opts);
    expect(result).toEqual({ text: input, changed: false, truncated: false });
    expect(result.text).toBe(input);
  });

  it.each([
    ['C0 controls', 'a\u0000b\u0007c\u001fd\u007fe', 'abcde'],
    ['C1 controls', 'a\u0080b\u0090c\u009fd', 'abcd'],
    ['CR/LF/TAB become one space', 'line1\r\nline2\tend', 'line1 line2 end'],
    ['NEL, LS, PS, VT, FF', 'a\u0085b\u2028c\u2029d\u000be\u000cf', 'a b c d e f'],
    ['ANSI SGR', 'a\u001b[31mred\u001b[0m b', 'ared b'],
    ['ANSI CSI with private params', 'x\u001b[?25ly', 'xy'],
    ['ANSI OSC (BEL)', 'x\u001b]0;evil title\u0007y', 'xy'],
    ['ANSI OSC (ST)', 'x\u001b]8;;http://e.example\u001b\\link\u001b]8;;\u001b\\y', 'xlinky'],
    ['C1 CSI', 'x\u009b31my', 'xy'],
    ['ESC-less SGR remnants', 'x[31mred[0m [2Jy [1;1Hz', 'xred y z'],
    ['charset selection', 'x\u001b(By', 'xy'],
    ['bidi overrides', 'a\u202ab\u202bc\u202cd\u202de\u202ef', 'abcdef'],
    ['bidi isolates and marks', 'a\u2066b\u2067c\u2068d\u2069e\u200ef\u200fg\u061ch', 'abcdefgh'],
    ['zero-width', 'a\u200bb\u200cc\u200dd\u2060e\ufefff', 'abcdef'],
    ['Unicode tag characters', `a${String.fromCodePoint(0xe0041, 0xe0042, 0xe007f)}b`, 'ab'],
    ['variation selectors', `a\ufe0fb${String.fromCodePoint(0xe0100)}c`, 'abc'],
    ['soft hyphen and invisible fillers', 'a\u00adb\u3164c\u115fd', 'abcd'],
    ['lone surrogates', 'a\ud800b\udc00c', 'abc'],
    ['valid astral characters kept', 'lock 🔒 ok', 'lock 🔒 ok'],
    ['NFKC fullwidth', 'ｉｇｎｏｒｅ', 'ignore'],
    ['NFKC ligature and superscript', 'ﬁle x²', 'file x2'],
    ['odd spaces collapse', 'a\u00a0\u00a0b\u3000c\u2003 d', 'a b c d'],
    ['whitespace runs collapse and trim', '   a    b   ', 'a b'],
  ])('%s', (_name, input, expected) => {
    const result = neutralizeText(input, opts);
    expect(result.text).toBe(expected);
    expect(result.changed).toBe(input !== expected);
  });

  it('caps with an explicit marker counting the removed characters', () => {
    const result = neutralizeText('x'.repeat(1234 + 50), { maxChars: 50 });
    expect(result.truncated).toBe(true);
    expect(result.text).toBe(`${'x'.repeat(50)}…[truncated 1234 chars]`);
    expect(truncationMarker(1234)).toBe('…[truncated 1234 chars]');
  });

  it('never cuts a surrogate pair in half', () => {
    const { text } = capText('ab🔒cd', 3);
    expect(text.startsWith('ab…')).toBe(true);
  });

  it('property: output has no control/bidi/zero-width/tag characters and respects the cap', () => {
    const forbidden = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\u061c\ufeff\u2028\u2029]|[\udb40][\udc00-\udc7f]/;
    const lone = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
    const interesting = fc.constantFrom('\u001b[31m', '\u001b]0;x\u0007', '\u202e', '\u200b', '\r\n', '\t', '\u0000', '\u009b', '\ud800', String.fromCodePoint(0xe0041), '[0m', 'ｆ');
    const piece = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), interesting);
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 20 }), fc.integer({ min: 1, max: 120 }), (pieces, maxChars) => {
        const { text } = neutralizeText(pieces.join(''), { maxChars });
        expect(forbidden.test(text)).toBe(false);
        expect(lone.test(text)).toBe(false);
        expect(text.length).toBeLessThanOrEqual(maxChars + MAX_TRUNCATION_MARKER_LENGTH);
        expect(text).not.toMatch(/ {2}/);
      }),
      { numRuns: 500 },
    );
  });
});

describe('neutralizeControl (soc)', () => {
  it('returns clean text (also non-ASCII) as the same string', () => {
    const input = 'Zürich café 🔒 https://x.example/?a=1';
    expect(neutralizeControl(input)).toBe(input);
  });

  it.each([
    ['CR/LF/TAB → space', 'a\r\nb\tc', 'a  b c'],
    ['C0/C1 removed', 'a\u0000b\u0085c\u009fd', 'ab cd'],
    ['ANSI removed', 'a\u001b[1;31mb\u001b]0;t\u0007c', 'abc'],
    ['bidi removed', 'a\u202eb\u2066c\u200fd', 'abcd'],
    ['zero-width kept (no NFKC, no cap)', 'a\u200bｂ', 'a\u200bｂ'],
  ])('%s', (_name, input, expected) => {
    expect(neutralizeControl(input)).toBe(expected);
  });
});
