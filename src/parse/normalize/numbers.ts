/** Number helpers for field values, by char code: cheaper than `Number(v)` on the scanner's fresh slices. */

export function isDigits(v: string): boolean {
  return decimalValue(v) >= 0;
}

/**
 * The value of 1–15 ASCII digits (exact: below 2^53), or -1. Cheaper than `Number(v)` on the fresh
 * slices the scanner makes (V8 sends those through its generic string-to-number conversion).
 */
export function decimalValue(v: string): number {
  if (v.length === 0 || v.length > 15) return -1;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** `a + b` as a decimal string when both are 1–15 digits, else undefined. */
export function decimalSum(a: string, b: string): string | undefined {
  const x = decimalValue(a);
  if (x < 0) return undefined;
  const y = decimalValue(b);
  return y < 0 ? undefined : String(x + y);
}
