import { isIPv6 } from 'node:net';
import { z } from 'zod';
import { parseCidr } from './allow-from.js';

/** Defaults of the syslog source; the schema applies them, docs and tests read them from here. */
export const SYSLOG_DEFAULTS = {
  max_frame_bytes: 65_536,
  oversize: 'truncate',
  /** Applied by the UDP listener when `receive_buffer_bytes` is absent (the kernel may grant less). */
  receive_buffer_bytes: 4 * 1024 * 1024,
  max_connections: 1000,
  idle_timeout_seconds: 600,
  frame_timeout_seconds: 60,
  verify_client: false,
  min_version: 'TLSv1.2',
} as const;

/** Upper bound for `idle_timeout_seconds`: Node timers cannot exceed 2^31-1 ms. */
const MAX_IDLE_TIMEOUT_SECONDS = 2_147_483;

const ADDRESS_PATTERN = /^(?:\[([^\]]+)\]|([^[\]:\s]+)):(\d{1,5})$/;

/** A parsed listen address: host without brackets, numeric port. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** `HOST:PORT` / `[IPv6]:PORT` → parts, or a message saying what is wrong. */
export function parseListenAddress(address: string): ListenAddress | string {
  const match = ADDRESS_PATTERN.exec(address);
  if (!match) {
    if ((address.match(/:/g) ?? []).length > 1 && !address.startsWith('[')) {
      return `"${address}": put an IPv6 address in brackets, e.g. "[::1]:514" or "[::]:514"`;
    }
    return `"${address}" is not HOST:PORT (e.g. "0.0.0.0:514", "localhost:6514", "[::]:514")`;
  }
  const bracketed = match[1];
  const host = bracketed ?? match[2] ?? '';
  if (bracketed !== undefined && !isIPv6(bracketed)) {
    return `"${address}": "${bracketed}" in brackets is not an IPv6 address`;
  }
  const port = Number(match[3]);
  if (port > 65_535) return `"${address}": port must be 0–65535`;
  return { host, port };
}

/** `host:port` for display, with brackets around IPv6. */
export function formatListenAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

const tlsSchema = z
  .strictObject({
    cert_file: z
      .string()
      .min(1)
      .optional()
      .describe('PEM file with the server certificate (and its chain). Required when mode is tls.'),
    key_file: z
      .string()
      .min(1)
      .optional()
      .describe('PEM file with the private key of the server certificate. Required when mode is tls. Refused when world-readable (chmod 600).'),
    ca_file: z
      .string()
      .min(1)
      .optional()
      .describe('PEM file with the CA(s) that client certificates must chain to. Required when verify_client is true.'),
    verify_client: z
      .boolean()
      .default(SYSLOG_DEFAULTS.verify_client)
      .describe('Require a client certificate signed by ca_file; connections without one are refused during the handshake.'),
    min_version: z
      .enum(['TLSv1.2', 'TLSv1.3'])
      .default(SYSLOG_DEFAULTS.min_version)
      .describe('Lowest TLS protocol version accepted.'),
  })
  .describe('TLS settings; only for mode tls.');

export const syslogSourceSchema = z
  .strictObject({
    type: z.literal('syslog').describe('Component type.'),
    mode: z
      .enum(['udp', 'tcp', 'tls'])
      .describe(
        'Transport. udp: one datagram = one log (LF-separated logs in one datagram are split). ' +
          'tcp/tls: RFC 6587 framing, octet counting or LF, detected per connection.',
      ),
    address: z
      .string()
      .superRefine((value, ctx) => {
        const parsed = parseListenAddress(value);
        if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
      })
      .describe('Listen address as HOST:PORT; IPv6 in brackets ("[::]:514"). Port 0 picks a free port.'),
    max_frame_bytes: z
      .number()
      .int()
      .min(1)
      .max(64 * 1024 * 1024)
      .default(SYSLOG_DEFAULTS.max_frame_bytes)
      .describe('Largest log (frame) accepted, in bytes; longer ones are handled per `oversize`.'),
    oversize: z
      .enum(['truncate', 'dead_letter'])
      .default(SYSLOG_DEFAULTS.oversize)
      .describe(
        'What to do with a frame longer than max_frame_bytes: truncate (keep the first max_frame_bytes ' +
          'bytes, mark the event truncated) or dead_letter (send those bytes to dead letters as frame_too_large).',
      ),
    receive_buffer_bytes: z
      .number()
      .int()
      .min(1024)
      .optional()
      .describe(
        `UDP only: socket receive buffer requested from the kernel (default ${SYSLOG_DEFAULTS.receive_buffer_bytes}); ` +
          'the kernel may grant less (net.core.rmem_max); the granted size is logged at start.',
      ),
    max_connections: z
      .number()
      .int()
      .min(1)
      .default(SYSLOG_DEFAULTS.max_connections)
      .describe('TCP/TLS only: concurrent connections; further connections are closed at once and counted.'),
    idle_timeout_seconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_IDLE_TIMEOUT_SECONDS)
      .default(SYSLOG_DEFAULTS.idle_timeout_seconds)
      .describe('TCP/TLS only: close a connection that sent nothing for this long; 0 = never.'),
    frame_timeout_seconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_IDLE_TIMEOUT_SECONDS)
      .default(SYSLOG_DEFAULTS.frame_timeout_seconds)
      .describe(
        'TCP/TLS only: close a connection whose current frame is not complete this long after its first byte ' +
          '(slow-loris guard: idle_timeout_seconds restarts on every byte); the partial frame goes to dead ' +
          'letters as frame_timeout. 0 = never.',
      ),
    allow_from: z
      .array(
        z.string().superRefine((value, ctx) => {
          const rule = parseCidr(value);
          if (typeof rule === 'string') ctx.addIssue({ code: 'custom', message: rule });
        }),
      )
      .default([])
      .describe(
        'Senders allowed, as IPv4/IPv6 addresses or CIDRs (IPv4-mapped IPv6 peers match IPv4 entries); ' +
          'empty = everyone. Refused packets and connections are counted, not read.',
      ),
    tls: tlsSchema.optional(),
  })
  .superRefine((settings, ctx) => {
    if (settings.mode === 'tls') {
      if (!settings.tls?.cert_file) {
        ctx.addIssue({ code: 'custom', path: ['tls', 'cert_file'], message: 'required when mode is tls' });
      }
      if (!settings.tls?.key_file) {
        ctx.addIssue({ code: 'custom', path: ['tls', 'key_file'], message: 'required when mode is tls' });
      }
      if (settings.tls?.verify_client && !settings.tls.ca_file) {
        ctx.addIssue({
          code: 'custom',
          path: ['tls', 'ca_file'],
          message: 'required when tls.verify_client is true (the CA that signs client certificates)',
        });
      }
    } else if (settings.tls !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: `only valid with mode tls (mode is ${settings.mode})` });
    }
    if (settings.mode !== 'udp' && settings.receive_buffer_bytes !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['receive_buffer_bytes'],
        message: `only valid with mode udp (mode is ${settings.mode})`,
      });
    }
  })
  .describe('Syslog listener for FortiGate logs over UDP, TCP or TLS (RFC 5425/6587).');

export type SyslogSourceSettings = z.infer<typeof syslogSourceSchema>;
/** What a pipeline file may contain (defaults not yet applied). */
export type SyslogSourceInput = z.input<typeof syslogSourceSchema>;
