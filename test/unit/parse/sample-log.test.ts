import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getField } from '../../../src/parse/event.js';
import { parseFrame } from '../../../src/parse/index.js';

const origin = { source: 'fixture', peer: 'file:sample.log', receivedAtMs: Date.UTC(2025, 5, 1, 12) };

function lines(name: string): string[] {
  const text = readFileSync(new URL(`../../../samples/fortigate-${name}`, import.meta.url), 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

describe('samples/fortigate-sample.log (sent over the wire by e2e and the demo)', () => {
  it('every line parses into an event with a time, an observer and a code', () => {
    const all = lines('sample.log');
    expect(all.length).toBeGreaterThanOrEqual(30);
    for (const [i, line] of all.entries()) {
      const result = parseFrame(line, origin);
      if (!result.ok) throw new Error(`sample.log:${i + 1} dead-lettered: ${result.code} ${result.reason}`);
      expect(getField(result.event, 'observer.name'), `sample.log:${i + 1}`).toBeDefined();
      expect(getField(result.event, 'event.code'), `sample.log:${i + 1}`).toBeDefined();
      expect(Number.isFinite(result.event.timeMs)).toBe(true);
    }
  });
});

describe('samples/fortigate-bad.log', () => {
  it('every line is dead-lettered with the code in bad.expected.json', () => {
    const expected = JSON.parse(
      readFileSync(new URL('../../../samples/fortigate-bad.expected.json', import.meta.url), 'utf8'),
    ) as { line: number; code: string }[];
    const all = lines('bad.log');
    expect(all.length).toBe(expected.length);
    for (const { line, code } of expected) {
      const result = parseFrame(all[line - 1] ?? '', origin);
      expect(result.ok, `bad.log:${line}`).toBe(false);
      if (!result.ok) expect(result.code, `bad.log:${line}`).toBe(code);
    }
  });
});
