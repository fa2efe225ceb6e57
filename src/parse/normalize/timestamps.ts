/** ISO timestamps and local date/time, with last-value caches: consecutive lines share them. */

import { parseDateTimeUtc, parseTzOffsetMinutes } from '../time.js';

// Tiny last-value caches: consecutive lines share date/time/tz and event time.
let lastDate = '';
let lastTime = '';
let lastTz = '';
let lastLocalMs = NaN;
let lastIsoMs = NaN;
let lastIso = '';

export function iso(ms: number): string {
  if (ms === lastIsoMs) return lastIso;
  lastIsoMs = ms;
  lastIso = new Date(ms).toISOString();
  return lastIso;
}

// ISO strings by second: consecutive events share the second, only the milliseconds differ.
let lastSecond = NaN;
let lastSecondPrefix = '';
const MS_TEXT: string[] = [];
for (let i = 0; i < 1000; i++) MS_TEXT.push(`${String(i).padStart(3, '0')}Z`);

export function isoWithMs(ms: number): string {
  const rem = ms % 1000;
  const second = ms - rem;
  if (second !== lastSecond || rem < 0) {
    const text = new Date(ms).toISOString();
    if (rem < 0 || text.length !== 24) return text;
    lastSecond = second;
    lastSecondPrefix = text.slice(0, 20);
  }
  return lastSecondPrefix + (MS_TEXT[rem] as string);
}

export function localDateTimeMs(date: string, time: string, tz: string): number {
  if (date === lastDate && time === lastTime && tz === lastTz) return lastLocalMs;
  const wall = parseDateTimeUtc(date, time);
  const offset = tz === '' ? 0 : parseTzOffsetMinutes(tz);
  lastDate = date;
  lastTime = time;
  lastTz = tz;
  lastLocalMs = Number.isNaN(offset) ? NaN : wall - offset * 60_000;
  return lastLocalMs;
}
