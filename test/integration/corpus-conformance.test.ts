import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { eventToObject, type FrameOrigin } from '../../src/parse/event.js';
import { parseFrame } from '../../src/parse/index.js';

/**
 * Runs every log line of the shared real-world corpus (../shared/corpus, see its SOURCES.md; never copied
 * into this repo) through the parser, and compares our fields with Elastic's expected documents where the
 * corpus has them.
 *
 * Compared fields: those below that Elastic also sets. Values compare as strings (Elastic has numbers);
 * `@timestamp` and `event.start` compare as instants; Elastic's array `event.category` must contain ours.
 *
 * Documented exceptions:
 * - `event.action`: Elastic rewrites many actions into its own names (`FortiGate-event-config-objattr`);
 *   we keep the FortiGate's own `action`, so ours is compared with Elastic's `fortinet.firewall.action`
 *   (the raw value it keeps) instead.
 * - `event.outcome`: Elastic's vocabulary (e.g. `success` for an IPS `detected`) differs; not compared.
 * - `observer.product`: Elastic writes `Fortigate`, we write `FortiGate`; not compared.
 * - `message`: Elastic keeps backslash escapes (`XSS\\`) and the stray `"|` after a closing quote
 *   (test-fortinet-7-6.log:2); we unescape and stop at the quote, so those two values differ by design.
 */
const corpus = fileURLToPath(new URL('../../../shared/corpus', import.meta.url));

const COMPARED = [
  '@timestamp',
  'event.code',
  'event.action',
  'event.kind',
  'event.category',
  'event.start',
  'event.timezone',
  'event.duration',
  'event.reason',
  'log.level',
  'observer.name',
  'observer.serial_number',
  'observer.vendor',
  'observer.type',
  'source.ip',
  'source.port',
  'destination.ip',
  'destination.port',
  'network.transport',
  'network.iana_number',
  'network.bytes',
  'user.name',
  'user.group.name',
  'rule.id',
  'rule.name',
  'rule.uuid',
  'rule.description',
  'source.bytes',
  'destination.bytes',
  'source.packets',
  'destination.packets',
  'source.nat.ip',
  'source.nat.port',
  'destination.nat.ip',
  'source.mac',
  'observer.ingress.interface.name',
  'observer.egress.interface.name',
  'fortinet.firewall.type',
  'fortinet.firewall.subtype',
  'fortinet.firewall.vd',
  'url.domain',
  'user_agent.original',
  'http.request.method',
  'event.reference',
  'message',
  'log.syslog.priority',
  'log.syslog.facility.code',
  'log.syslog.severity.code',
] as const;

/** `file:line:field` values that differ from Elastic by design (see the header comment). */
const EXCEPTIONS = new Set(['test-fortinet-7-6.log:2:message', 'test-fortinet-fix.log:2:message']);

const TIME_FIELDS = new Set(['@timestamp', 'event.start']);

interface Input {
  readonly where: string;
  readonly data: Buffer | string;
  readonly expected?: Record<string, unknown>;
}

const origin: FrameOrigin = { source: 'corpus', peer: 'file:corpus', receivedAtMs: Date.UTC(2026, 3, 3, 12) };

function flatten(value: unknown, prefix: string, out: Record<string, unknown>): Record<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix === '' ? k : `${prefix}.${k}`, out);
  } else {
    out[prefix] = value;
  }
  return out;
}

function splitLines(buf: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= buf.length; i++) {
    if (i === buf.length || buf[i] === 0x0a) {
      const line = buf.subarray(start, i);
      if (line.length > 0 && !(line.length === 1 && line[0] === 0x0d)) lines.push(line);
      start = i + 1;
    }
  }
  return lines;
}

function expectedDocs(file: string): Record<string, unknown>[] {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { expected?: unknown };
  if (!Array.isArray(doc.expected)) return [];
  return doc.expected.map((e: unknown) => flatten(e, '', {}));
}

function loadInputs(): Input[] {
  const inputs: Input[] = [];
  const elastic = `${corpus}/elastic-integrations`;
  for (const name of readdirSync(elastic).sort()) {
    const path = `${elastic}/${name}`;
    if (name.endsWith('.log')) {
      const lines = splitLines(readFileSync(path));
      const docs = existsSync(`${path}-expected.json`) ? expectedDocs(`${path}-expected.json`) : [];
      lines.forEach((data, i) => inputs.push({ where: `${name}:${i + 1}`, data, expected: docs[i] }));
    } else if (name.endsWith('.json') && !name.endsWith('-expected.json')) {
      const doc = JSON.parse(readFileSync(path, 'utf8')) as { events?: { message?: unknown }[] };
      (doc.events ?? []).forEach((e, i) => {
        if (typeof e.message === 'string') inputs.push({ where: `${name}:event${i + 1}`, data: e.message });
      });
    } else if (name === 'test-fortinet-unsanitized.log-expected.json') {
      // The input file is binary and not in the corpus: its lines are only in `event.original`.
      expectedDocs(path).forEach((expected, i) => {
        const original = expected['event.original'];
        if (typeof original === 'string') {
          inputs.push({ where: `test-fortinet-unsanitized.log:${i + 1}`, data: original, expected });
        }
      });
    }
  }
  const wazuh = `${corpus}/wazuh/fortigate.ini`;
  if (existsSync(wazuh)) {
    readFileSync(wazuh, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const m = /^log \d+ pass = (.*)$/.exec(line);
        if (m?.[1] !== undefined) inputs.push({ where: `fortigate.ini:${i + 1}`, data: m[1] });
      });
  }
  return inputs;
}

function same(field: string, ours: string, theirs: unknown): boolean {
  if (TIME_FIELDS.has(field) && typeof theirs === 'string') return Date.parse(ours) === Date.parse(theirs);
  if (Array.isArray(theirs)) return theirs.map(String).includes(ours);
  return ours === String(theirs);
}

describe('corpus conformance (../shared/corpus)', () => {
  it('parses every corpus line and matches Elastic where it has expected output', () => {
    if (!existsSync(corpus)) {
      console.log(`corpus-conformance: ${corpus} is absent; skipped`);
      return;
    }
    const inputs = loadInputs();
    expect(inputs.length).toBeGreaterThan(190);
    let parsed = 0;
    let dead = 0;
    let compared = 0;
    let matched = 0;
    const mismatches: string[] = [];
    for (const input of inputs) {
      const result = parseFrame(input.data, origin);
      if (!result.ok) {
        dead += 1;
        expect(result.reason.length, input.where).toBeGreaterThan(0);
        continue;
      }
      parsed += 1;
      if (input.expected === undefined) continue;
      const ours = eventToObject(result.event);
      for (const field of COMPARED) {
        const theirsKey = field === 'event.action' ? 'fortinet.firewall.action' : field;
        const theirs = input.expected[theirsKey];
        if (theirs === undefined) continue;
        const key = `${input.where}:${field}`;
        if (EXCEPTIONS.has(key)) continue;
        compared += 1;
        const mine = ours[field];
        if (mine !== undefined && same(field, String(mine), theirs)) matched += 1;
        else mismatches.push(`${key}: ours=${JSON.stringify(mine)} elastic=${JSON.stringify(theirs)}`);
      }
    }
    const rate = compared === 0 ? 1 : matched / compared;
    console.log(
      `corpus-conformance: ${inputs.length} lines, ${parsed} parsed, ${dead} dead-lettered; ` +
        `Elastic fields ${matched}/${compared} matched (${(rate * 100).toFixed(1)}%)`,
    );
    expect(mismatches).toEqual([]);
    expect(dead).toBe(0);
  });
});
