/**
 * Neutralizing untrusted text before anything downstream (a model, a terminal, a log viewer) reads it.
 *
 * Two strengths:
 * - `neutralizeText` (profiles `ml`/`agent`): Unicode NFKC, then every character a reader could be
 *   fooled by is removed — C0/C1 controls, ANSI escape sequences (also their ESC-less remnants such
 *   as `[31m` left behind by a pipeline that stripped the ESC), bidi overrides and isolates,
 *   zero-width and other invisible characters, Unicode tag characters and variation selectors (both
 *   used to smuggle hidden text), lone surrogates. Line breaks and tabs become spaces, whitespace
 *   runs collapse, and the result is capped with an explicit marker.
 * - `neutralizeControl` (profile `soc`): only what breaks a log line or a terminal — controls,
 *   ANSI escapes, CR/LF, bidi — so analysts keep the full, un-normalized detail (CWE-117).
 *
 * Both return their input itself (no allocation) when it is plain printable ASCII.
 */

export interface NeutralizeOptions {
  /** Cap in UTF-16 code units of the neutralized text (the marker comes on top). */
  readonly maxChars: number;
}

export interface NeutralizedText {
  readonly text: string;
  /** True when `text` differs from the input. */
  readonly changed: boolean;
  /** True when the cap cut the text (it then ends with a truncation marker). */
  readonly truncated: boolean;
}

const TRUNCATION_PREFIX = '…[truncated ';
const TRUNCATION_SUFFIX = ' chars]';
/** Longest marker `truncationMarker` can produce (16 digits cover any string length). */
export const MAX_TRUNCATION_MARKER_LENGTH = TRUNCATION_PREFIX.length + 16 + TRUNCATION_SUFFIX.length;

/** The marker appended to capped text: `…[truncated 1234 chars]`. */
export function truncationMarker(removedChars: number): string {
  return `${TRUNCATION_PREFIX}${removedChars}${TRUNCATION_SUFFIX}`;
}

/**
 * Cuts `text` to at most `maxChars` UTF-16 units (never inside a surrogate pair) and appends the
 * marker. `alreadyRemoved` adds chars an earlier cut removed, so the marker reports the total.
 */
export function capText(text: string, maxChars: number, alreadyRemoved = 0): { text: string; truncated: boolean } {
  if (text.length <= maxChars && alreadyRemoved === 0) return { text, truncated: false };
  let cut = Math.min(text.length, Math.max(0, maxChars));
  const last = text.charCodeAt(cut - 1);
  if (cut > 0 && cut < text.length && last >= 0xd800 && last <= 0xdbff) cut -= 1;
  const kept = text.slice(0, cut).trimEnd();
  return { text: kept + truncationMarker(text.length - cut + alreadyRemoved), truncated: true };
}

/** Characters `neutralizeText` removes outright (besides controls, surrogates and ranges below). */
function isInvisible(code: number): boolean {
  return (
    (code >= 0x200b && code <= 0x200f) || // zero-width space/non-joiner/joiner, LRM, RLM
    (code >= 0x202a && code <= 0x202e) || // bidi embeddings and overrides
    (code >= 0x2060 && code <= 0x2064) || // word joiner, invisible operators
    (code >= 0x2066 && code <= 0x2069) || // bidi isolates
    code === 0x061c || // Arabic letter mark
    code === 0xfeff || // BOM / zero-width no-break space
    code === 0x00ad || // soft hyphen
    code === 0x034f || // combining grapheme joiner
    code === 0x180e || // Mongolian vowel separator
    code === 0x115f ||
    code === 0x1160 ||
    code === 0x3164 ||
    code === 0xffa0 || // Hangul fillers (render as nothing)
    (code >= 0xfe00 && code <= 0xfe0f) || // variation selectors
    (code >= 0xfff9 && code <= 0xfffb) || // interlinear annotation controls
    code === 0xfffe ||
    code === 0xffff
  );
}

function isBidi(code: number): boolean {
  return (
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069) ||
    code === 0x200e ||
    code === 0x200f ||
    code === 0x061c
  );
}

/** Characters that become a space: line and tab breaks of every kind, odd Unicode spaces. */
function isBreakOrSpace(code: number): boolean {
  return (
    code === 0x20 ||
    (code >= 0x09 && code <= 0x0d) ||
    code === 0x85 ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000
  );
}

/**
 * Length of the ANSI escape sequence starting at `i` (text[i] is ESC, CSI U+009B or OSC U+009D),
 * or 1 when it is a lone introducer. Bounded: an unterminated OSC only loses its introducer.
 */
function escapeSequenceLength(text: string, i: number): number {
  const length = text.length;
  const first = text.charCodeAt(i);
  let j = i + 1;
  let kind: 'csi' | 'osc' | 'other';
  if (first === 0x9b) kind = 'csi';
  else if (first === 0x9d) kind = 'osc';
  else {
    const next = text.charCodeAt(j);
    if (next === 0x5b) {
      kind = 'csi';
      j += 1;
    } else if (next === 0x5d) {
      kind = 'osc';
      j += 1;
    } else {
      kind = 'other';
    }
  }
  if (kind === 'csi') {
    // parameter bytes 0x30–0x3F, intermediate bytes 0x20–0x2F, one final byte 0x40–0x7E
    const limit = Math.min(length, j + 64);
    while (j < limit && text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x3f) j += 1;
    while (j < limit && text.charCodeAt(j) >= 0x20 && text.charCodeAt(j) <= 0x2f) j += 1;
    const final = text.charCodeAt(j);
    if (j < length && final >= 0x40 && final <= 0x7e) return j + 1 - i;
    return j - i;
  }
  if (kind === 'osc') {
    const limit = Math.min(length, j + 512);
    for (let k = j; k < limit; k += 1) {
      const code = text.charCodeAt(k);
      if (code === 0x07 || code === 0x9c) return k + 1 - i;
      if (code === 0x1b && text.charCodeAt(k + 1) === 0x5c) return k + 2 - i;
    }
    return j - i;
  }
  // ESC + intermediates (0x20–0x2F) + final (0x30–0x7E): charset selection, keypad modes, …
  while (j < length && j < i + 4 && text.charCodeAt(j) >= 0x20 && text.charCodeAt(j) <= 0x2f) j += 1;
  const final = text.charCodeAt(j);
  if (j < length && final >= 0x30 && final <= 0x7e) return j + 1 - i;
  return 1;
}

/**
 * SGR/erase/cursor sequences, also the remnants whose ESC was already stripped upstream (`[31m`,
 * `[2J`, `[1;1H`). The optional ESC is part of the match so a complete sequence goes as a whole.
 */
const ESCLESS_CSI = /\x1b?\[[0-9]{1,3}(?:;[0-9]{1,3}){0,8}[mKJH]/g;

function isPlainAscii(text: string, maxChars: number): boolean {
  const length = text.length;
  if (length > maxChars) return false;
  let previousSpace = true; // a leading space is not plain
  for (let i = 0; i < length; i += 1) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code > 0x7e || code === 0x5b) return false;
    if (code === 0x20) {
      if (previousSpace) return false;
      previousSpace = true;
    } else {
      previousSpace = false;
    }
  }
  return !previousSpace || length === 0;
}

/**
 * Neutralizes untrusted text for the `ml`/`agent` profiles (see the module comment), capping the
 * result at `maxChars` plus a `…[truncated N chars]` marker.
 */
export function neutralizeText(value: string, options: NeutralizeOptions): NeutralizedText {
  if (isPlainAscii(value, options.maxChars)) return { text: value, changed: false, truncated: false };
  let text = value.normalize('NFKC');
  if (text.includes('[')) text = text.replace(ESCLESS_CSI, '');
  const length = text.length;
  let out = '';
  let runStart = 0;
  let pendingSpace = false;
  let emittedAny = false;
  const flush = (end: number): void => {
    if (runStart < end) {
      if (pendingSpace && emittedAny) out += ' ';
      out += text.slice(runStart, end);
      emittedAny = true;
      pendingSpace = false;
    }
  };
  let i = 0;
  while (i < length) {
    const code = text.charCodeAt(i);
    if (code >= 0x21 && code <= 0x7e) {
      i += 1;
      continue;
    }
    if (code === 0x1b || code === 0x9b || code === 0x9d) {
      flush(i);
      i += escapeSequenceLength(text, i);
      runStart = i;
      continue;
    }
    if (isBreakOrSpace(code)) {
      flush(i);
      pendingSpace = true;
      i += 1;
      runStart = i;
      continue;
    }
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || isInvisible(code)) {
      flush(i);
      i += 1;
      runStart = i;
      continue;
    }
    if (code >= 0xd800 && code <= 0xdbff) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        const point = ((code - 0xd800) << 10) + (low - 0xdc00) + 0x10000;
        // tag characters (E0000–E007F) and variation selectors supplement (E0100–E01EF)
        if ((point >= 0xe0000 && point <= 0xe007f) || (point >= 0xe0100 && point <= 0xe01ef)) {
          flush(i);
          i += 2;
          runStart = i;
          continue;
        }
        i += 2;
        continue;
      }
      flush(i);
      i += 1;
      runStart = i;
      continue;
    }
    if (code >= 0xdc00 && code <= 0xdfff) {
      flush(i);
      i += 1;
      runStart = i;
      continue;
    }
    i += 1;
  }
  flush(length);
  const capped = capText(out, options.maxChars);
  return { text: capped.text, changed: capped.text !== value, truncated: capped.truncated };
}

function needsControlNeutralization(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029 || isBidi(code);
}

/**
 * The light neutralization of the `soc` profile: C0/C1 controls and ANSI escape sequences removed,
 * CR/LF/TAB (and U+2028/2029) turned into a space, bidi controls removed. No NFKC, no cap.
 */
export function neutralizeControl(value: string): string {
  const length = value.length;
  let i = 0;
  while (i < length && !needsControlNeutralization(value.charCodeAt(i))) i += 1;
  if (i === length) return value;
  let out = value.slice(0, i);
  let runStart = i;
  while (i < length) {
    const code = value.charCodeAt(i);
    if (!needsControlNeutralization(code)) {
      i += 1;
      continue;
    }
    if (runStart < i) out += value.slice(runStart, i);
    if (code === 0x1b || code === 0x9b || code === 0x9d) {
      i += escapeSequenceLength(value, i);
    } else {
      if (code === 0x0a || code === 0x0d || code === 0x09 || code === 0x0b || code === 0x0c || code === 0x85 || code === 0x2028 || code === 0x2029) {
        out += ' ';
      }
      i += 1;
    }
    runStart = i;
  }
  if (runStart < length) out += value.slice(runStart);
  return out;
}
