import { describe, expect, it } from 'vitest';
import { createLineGenerator } from '../../../src/bench/fortigate-lines.js';
import { getField, type NormalizedEvent } from '../../../src/parse/event.js';
import { parseFrame } from '../../../src/parse/index.js';

const origin = { source: 'bench', peer: '127.0.0.1:514', receivedAtMs: Date.UTC(2026, 0, 15, 8) };

function take(count: number, seed: number): string[] {
  const generator = createLineGenerator({ seed });
  return Array.from({ length: count }, () => generator.next());
}

function parseAll(lines: readonly string[]): NormalizedEvent[] {
  return lines.map((line, i) => {
    const result = parseFrame(line, origin);
    if (!result.ok) throw new Error(`line ${i + 1} dead-lettered (${result.code}: ${result.reason}): ${line}`);
    return result.event;
  });
}

const field = (event: NormalizedEvent, name: string): string => getField(event, name) ?? '';

describe('bench line generator', () => {
  it('gives the same lines for the same seed and other lines for another seed', () => {
    const first = take(500, 7);
    expect(take(500, 7)).toEqual(first);
    const other = take(500, 8);
    expect(other).not.toEqual(first);
    // Not only the times differ: the content does.
    const strip = (line: string): string => line.replace(/eventtime=\d+/, '');
    expect(other.map(strip)).not.toEqual(first.map(strip));
  });

  it('produces lines that all parse, in FortiOS default format (ASCII, no syslog header)', () => {
    const lines = take(5000, 1);
    for (const line of lines) {
      expect(line).toMatch(/^<\d{3}>date=\d{4}-\d\d-\d\d time=\d\d:\d\d:\d\d devname="[^"]+" devid="[^"]+" eventtime=\d{19} /);
      expect(/^[\x20-\x7e]+$/.test(line)).toBe(true);
    }
    const events = parseAll(lines);
    for (const event of events) {
      expect(field(event, 'event.code')).toMatch(/^\d{10}$/);
      expect(field(event, 'observer.name')).not.toBe('');
      expect(Number.isFinite(event.timeMs)).toBe(true);
    }
  });

  it('mixes ~80% traffic, ~10% UTM and ~10% events, each with its kinds', () => {
    const count = 10_000;
    const generator = createLineGenerator({ seed: 3 });
    const events = parseAll(Array.from({ length: count }, () => generator.next()));
    const byType = { traffic: 0, utm: 0, event: 0 };
    const kinds = new Set<string>();
    for (const event of events) {
      const type = field(event, 'fortinet.firewall.type') as keyof typeof byType;
      byType[type] += 1;
      const subtype = field(event, 'fortinet.firewall.subtype');
      kinds.add(type === 'traffic' ? `traffic/${subtype}/${field(event, 'event.action')}` : `${type}/${subtype}/${field(event, 'event.code')}`);
    }
    expect(byType.traffic + byType.utm + byType.event).toBe(count);
    expect(generator.mix).toEqual(byType);
    expect(byType.traffic / count).toBeGreaterThan(0.76);
    expect(byType.traffic / count).toBeLessThan(0.84);
    for (const share of [byType.utm / count, byType.event / count]) {
      expect(share).toBeGreaterThan(0.07);
      expect(share).toBeLessThan(0.13);
    }
    for (const kind of ['traffic/forward/close', 'traffic/forward/accept', 'traffic/forward/deny']) expect(kinds).toContain(kind);
    const subtypes = [...kinds].map((k) => k.split('/').slice(0, 2).join('/'));
    for (const subtype of ['utm/webfilter', 'utm/ips', 'utm/app-ctrl']) expect(subtypes).toContain(subtype);
    // User authentication success and failure, SSL-VPN tunnel up and down.
    for (const kind of ['event/user/0102043008', 'event/user/0102043009', 'event/vpn/0101039947', 'event/vpn/0101039948']) expect(kinds).toContain(kind);
  });

  it('writes traffic lines with ~45 key=value pairs and varied addresses, ports and users', () => {
    const lines = take(3000, 1);
    const traffic = lines.filter((line) => line.includes(' type="traffic" '));
    const pairs = traffic.map((line) => line.match(/(?:^|\s)[a-z_]+=(?:"(?:[^"\\]|\\.)*"|\S+)/g)?.length ?? 0);
    const mean = pairs.reduce((sum, n) => sum + n, 0) / pairs.length;
    expect(mean).toBeGreaterThan(40);
    expect(mean).toBeLessThan(55);
    const events = parseAll(lines);
    const distinct = (name: string): number => new Set(events.map((e) => getField(e, name)).filter((v) => v !== undefined)).size;
    expect(distinct('source.ip')).toBeGreaterThan(500);
    expect(distinct('source.port')).toBeGreaterThan(1000);
    expect(distinct('destination.ip')).toBeGreaterThan(10);
    expect(distinct('user.name')).toBeGreaterThan(20);
    expect(distinct('observer.name')).toBe(3);
  });

  it('takes a tunnel down only after it came up, and moves time forward from startMs', () => {
    const startMs = Date.UTC(2026, 5, 1, 12, 0, 0);
    const generator = createLineGenerator({ seed: 5, startMs });
    const events = parseAll(Array.from({ length: 20_000 }, () => generator.next()));
    const up = new Set<string>();
    let downs = 0;
    let previous = startMs;
    for (const event of events) {
      expect(event.timeMs).toBeGreaterThanOrEqual(previous);
      previous = event.timeMs;
      const code = field(event, 'event.code');
      const tunnel = field(event, 'fortinet.firewall.tunnelid');
      if (code === '0101039947') up.add(tunnel);
      if (code === '0101039948') {
        expect(up.has(tunnel), `tunnel ${tunnel} went down before it came up`).toBe(true);
        up.delete(tunnel);
        downs += 1;
      }
    }
    expect(downs).toBeGreaterThan(100);
    expect(events[0]?.timeMs).toBeGreaterThanOrEqual(startMs);
    expect(previous - startMs).toBeLessThan(20_000);
  });
});
