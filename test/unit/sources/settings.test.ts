import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  SYSLOG_DEFAULTS,
  parseListenAddress,
  syslogSourceSchema,
} from '../../../src/sources/syslog/settings.js';

/** Issues as `path: message` strings. */
function issues(input: unknown): string[] {
  const result = syslogSourceSchema.safeParse(input);
  if (result.success) return [];
  return result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('syslog source settings', () => {
  it('applies the defaults', () => {
    expect(syslogSourceSchema.parse({ type: 'syslog', mode: 'tcp', address: '0.0.0.0:514' })).toEqual({
      type: 'syslog',
      mode: 'tcp',
      address: '0.0.0.0:514',
      max_frame_bytes: 65_536,
      oversize: 'truncate',
      max_connections: 1000,
      idle_timeout_seconds: 600,
      frame_timeout_seconds: 60,
      allow_from: [],
    });
    expect(SYSLOG_DEFAULTS.receive_buffer_bytes).toBe(4 * 1024 * 1024);
  });

  it('tls defaults', () => {
    const parsed = syslogSourceSchema.parse({
      type: 'syslog',
      mode: 'tls',
      address: '[::]:6514',
      tls: { cert_file: 'a.crt', key_file: 'a.key' },
    });
    expect(parsed.tls).toEqual({ cert_file: 'a.crt', key_file: 'a.key', verify_client: false, min_version: 'TLSv1.2' });
  });

  it('mode tls without cert/key names the paths', () => {
    expect(issues({ type: 'syslog', mode: 'tls', address: '0.0.0.0:6514' })).toEqual([
      'tls.cert_file: required when mode is tls',
      'tls.key_file: required when mode is tls',
    ]);
    expect(issues({ type: 'syslog', mode: 'tls', address: '0.0.0.0:6514', tls: { cert_file: 'c' } })).toEqual([
      'tls.key_file: required when mode is tls',
    ]);
  });

  it('verify_client needs ca_file', () => {
    expect(
      issues({ type: 'syslog', mode: 'tls', address: '0.0.0.0:6514', tls: { cert_file: 'c', key_file: 'k', verify_client: true } }),
    ).toEqual(['tls.ca_file: required when tls.verify_client is true (the CA that signs client certificates)']);
  });

  it('tls and receive_buffer_bytes only where they apply', () => {
    expect(issues({ type: 'syslog', mode: 'udp', address: '0.0.0.0:514', tls: { cert_file: 'c', key_file: 'k' } })).toEqual([
      'tls: only valid with mode tls (mode is udp)',
    ]);
    expect(issues({ type: 'syslog', mode: 'tcp', address: '0.0.0.0:514', receive_buffer_bytes: 1_048_576 })).toEqual([
      'receive_buffer_bytes: only valid with mode udp (mode is tcp)',
    ]);
    expect(issues({ type: 'syslog', mode: 'udp', address: '0.0.0.0:514', receive_buffer_bytes: 1_048_576 })).toEqual([]);
  });

  it('validates the address', () => {
    const base = { type: 'syslog', mode: 'udp' };
    expect(issues({ ...base, address: '0.0.0.0:514' })).toEqual([]);
    expect(issues({ ...base, address: 'localhost:0' })).toEqual([]);
    expect(issues({ ...base, address: '[::1]:514' })).toEqual([]);
    expect(issues({ ...base, address: '[::]:514' })).toEqual([]);
    expect(issues({ ...base, address: '::1:514' })).toEqual([
      'address: "::1:514": put an IPv6 address in brackets, e.g. "[::1]:514" or "[::]:514"',
    ]);
    expect(issues({ ...base, address: '0.0.0.0' })).toEqual([
      'address: "0.0.0.0" is not HOST:PORT (e.g. "0.0.0.0:514", "localhost:6514", "[::]:514")',
    ]);
    expect(issues({ ...base, address: '0.0.0.0:70000' })).toEqual(['address: "0.0.0.0:70000": port must be 0–65535']);
    expect(issues({ ...base, address: '[nothost]:514' })).toEqual([
      'address: "[nothost]:514": "nothost" in brackets is not an IPv6 address',
    ]);
    expect(parseListenAddress('[2001:db8::1]:6514')).toEqual({ host: '2001:db8::1', port: 6514 });
  });

  it('validates allow_from entries with their index', () => {
    expect(
      issues({ type: 'syslog', mode: 'udp', address: '0.0.0.0:514', allow_from: ['10.0.0.0/8', '10.0.0.0/33', '::1', 'bad'] }),
    ).toEqual([
      'allow_from.1: "10.0.0.0/33": IPv4 prefix length must be 0–32',
      'allow_from.3: "bad" is not an IPv4/IPv6 address or CIDR (expected e.g. 10.0.0.0/8, 192.0.2.7, 2001:db8::/32)',
    ]);
  });

  it('refuses unknown keys and bad enums and numbers', () => {
    const base = { type: 'syslog', mode: 'tcp', address: '0.0.0.0:514' };
    expect(issues({ ...base, max_length_bytes: 10 })).toHaveLength(1);
    expect(issues({ ...base, mode: 'sctp' })[0]).toMatch(/^mode: /);
    expect(issues({ ...base, oversize: 'drop' })[0]).toMatch(/^oversize: /);
    expect(issues({ ...base, max_frame_bytes: 0 })[0]).toMatch(/^max_frame_bytes: /);
    expect(issues({ ...base, idle_timeout_seconds: -1 })[0]).toMatch(/^idle_timeout_seconds: /);
    expect(issues({ ...base, idle_timeout_seconds: 0 })).toEqual([]);
    expect(issues({ ...base, max_connections: 1.5 })[0]).toMatch(/^max_connections: /);
    expect(
      issues({ type: 'syslog', mode: 'tls', address: '0.0.0.0:1', tls: { cert_file: 'c', key_file: 'k', min_version: 'TLSv1.1' } })[0],
    ).toMatch(/^tls\.min_version: /);
  });

  it('every option has a description (it feeds the docs)', () => {
    const json = z.toJSONSchema(syslogSourceSchema, { io: 'input' }) as {
      description?: string;
      properties: Record<string, { description?: string; properties?: Record<string, { description?: string }> }>;
    };
    expect(json.description).toBeTruthy();
    for (const [key, property] of Object.entries(json.properties)) {
      expect(property.description, key).toBeTruthy();
      for (const [inner, innerProperty] of Object.entries(property.properties ?? {})) {
        expect(innerProperty.description, `${key}.${inner}`).toBeTruthy();
      }
    }
  });
});
