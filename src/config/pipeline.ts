import { z } from 'zod';
import { syslogSourceSchema } from '../sources/syslog/settings.js';
import { redisStreamsSinkSchema } from '../sinks/redis-streams.js';
import { profileSettingsSchema } from '../sanitize/profiles.js';
import { countersSettingsSchema, sessionsSettingsSchema } from '../state/rules-schema.js';
import { feedsSettingsSchema } from '../feeds/settings.js';
import { actionsSettingsSchema, devicesSettingsSchema } from '../actions/settings.js';

const componentName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}$/, 'component names are lower-case letters, digits and _ (start with a letter)');

export const redisTlsSettingsSchema = z
  .strictObject({
    ca_file: z
      .string()
      .min(1)
      .optional()
      .describe('PEM file with the CA(s) the server certificate must chain to (overridden by --redis-ca). Unset: the system CAs.'),
    cert_file: z
      .string()
      .min(1)
      .optional()
      .describe('PEM client certificate, for a server with tls-auth-clients (overridden by --redis-cert). Needs key_file.'),
    key_file: z
      .string()
      .min(1)
      .optional()
      .describe('PEM private key of cert_file (overridden by --redis-key). Refused when world-readable (chmod 600).'),
    server_name: z
      .string()
      .min(1)
      .optional()
      .describe('Name expected in the server certificate (and sent as SNI). Unset: the URL host.'),
    verify: z
      .boolean()
      .default(true)
      .describe('Verify the server certificate. false is for tests only: it is logged as a warning at start.'),
  })
  .refine((tls) => (tls.cert_file === undefined) === (tls.key_file === undefined), {
    message: 'cert_file and key_file go together (a client certificate needs its key)',
    path: ['key_file'],
  })
  .describe('TLS for rediss:// URLs (only used with rediss://; a redis:// URL with these files set is an error).');

export type RedisTlsSettings = z.infer<typeof redisTlsSettingsSchema>;

export const redisSettingsSchema = z
  .strictObject({
    url: z
      .string()
      .regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')
      .optional()
      .describe('Redis URL. Overridden by --redis and REDIS_URL. Unset: 127.0.0.1:6379 if it answers, else a private redis-server.'),
    key_prefix: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'letters, digits and _ . : - (1 to 64 characters)')
      .default('fortistream:')
      .describe('Every key and stream name starts with this prefix.'),
    connect_timeout_ms: z.int().min(100).max(60_000).default(5000).describe('Time allowed for the first connection.'),
    writer_lease_seconds: z
      .int()
      .min(2)
      .max(300)
      .default(15)
      .describe('TTL of the lease by which one worker owns each stream it writes (renewed every third of it): how long a crashed worker blocks a successor on another host.'),
    tls: redisTlsSettingsSchema.optional(),
  })
  .describe('Where state and streams live.');

export const runtimeSettingsSchema = z
  .strictObject({
    batch_max_events: z.int().min(1).max(20_000).default(1000).describe('A batch is written when it holds this many events…'),
    batch_max_wait_ms: z.int().min(1).max(10_000).default(20).describe('…or when its first event has waited this long.'),
    max_in_flight_batches: z.int().min(1).max(64).default(4).describe('Batches being written at once; more pauses the sources.'),
    buffer_max_bytes: z
      .int()
      .min(1 << 20)
      .max(8 * 1024 * 1024 * 1024)
      .default(64 * 1024 * 1024)
      .describe('Memory held between sources and Redis (encoded payloads awaiting confirmation, events kept as objects at 3× their raw size, dead letters). Above it TCP/TLS sockets pause and UDP datagrams are dropped (counted).'),
    retry_initial_ms: z.int().min(10).max(60_000).default(100).describe('First wait before retrying a failed write.'),
    retry_max_ms: z.int().min(10).max(300_000).default(5000).describe('Longest wait between retries of a failed write.'),
    shutdown_timeout_seconds: z.number().min(0).max(600).default(10).describe('How long a shutdown may spend flushing buffered events.'),
  })
  .describe('Batching, buffering and retry of the event pipeline.');

export const spoolSettingsSchema = z
  .strictObject({
    dir: z.string().min(1).describe('Folder of the spool segment files (created with mode 700). One worker per folder.'),
    max_bytes: z
      .int()
      .min(1 << 20)
      .max(2 ** 40)
      .default(1024 * 1024 * 1024)
      .describe('Most bytes the spool holds on disk. Full: TCP/TLS sockets pause, UDP datagrams are dropped (counted as spool_full).'),
    fsync: z
      .enum(['always', 'batch', 'interval', 'never'])
      .default('batch')
      .describe('When spooled records are fsynced (a worker crash loses nothing written whatever the policy; this is about power loss): always = every write (each event-loop turn), batch = before each batch goes to Redis and at least every second, interval = every fsync_interval_ms, never = when the OS decides.'),
    fsync_interval_ms: z.int().min(10).max(60_000).default(1000).describe('fsync period of the interval policy.'),
  })
  .describe('Disk spool: a checksummed write-ahead log of everything the sources read, replayed in order after a restart and while Redis was away.');

export type SpoolSettings = z.infer<typeof spoolSettingsSchema>;

const streamName = z
  .string()
  .regex(/^[A-Za-z0-9_.:{}-]{1,128}$/, 'letters, digits and _ . : { } - (after the key prefix)');

export const auditSettingsSchema = z
  .strictObject({
    stream: streamName.default('audit').describe('Audit stream (session opened/closed/expired/revoked), after the key prefix. Every identity key shares its hash tag.'),
    max_len: z.int().min(1).default(100_000).describe('Approximate cap (MAXLEN ~) of the audit stream.'),
  })
  .describe('Where session changes are audited.');

export const alertsSettingsSchema = z
  .strictObject({
    stream: streamName.default('alerts').describe('Alerts stream (counter thresholds crossed), after the key prefix.'),
    max_len: z.int().min(1).default(100_000).describe('Approximate cap (MAXLEN ~) of the alerts stream.'),
  })
  .describe('Where threshold alerts are written.');

/** Default cap of a profile stream (`MAXLEN ~`). */
export const DEFAULT_PROFILE_MAX_LEN = 1_000_000;

/** Default stream of each profile type, after the key prefix. */
export const DEFAULT_PROFILE_STREAM_SUFFIX = { ml: 'events:ml', agent: 'events:agent', soc: 'events:soc' } as const;

const hostPortSchema = z
  .string()
  .regex(/^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):\d{1,5}$/, 'HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080');

export const apiSettingsSchema = z
  .strictObject({
    address: hostPortSchema.optional().describe('Where the HTTP API listens (overridden by `run --api`). Unset: no API unless --api is given.'),
    tokens_file: z
      .string()
      .min(1)
      .describe('Bearer tokens (YAML or JSON): {tokens: [{name, token_sha256 | token, roles: [read|write|admin]}]}. Not world-writable; not world-readable when it holds plain tokens.'),
    keepalive_seconds: z.number().min(1).max(300).default(15).describe('A `:` comment is sent on idle SSE streams this often, so proxies keep them open.'),
    max_sse_clients: z.int().min(1).max(10_000).default(100).describe('Concurrent SSE streams (each holds one Redis connection); more get 503.'),
    tls: z
      .strictObject({
        cert_file: z.string().min(1).describe('PEM file with the server certificate (and its chain).'),
        key_file: z.string().min(1).describe('PEM file with its private key. Refused when world-readable (chmod 600).'),
      })
      .optional()
      .describe('Serve the API over HTTPS (FortiGate external connectors accept https:// resources). Unset: plain HTTP.'),
  })
  .describe('The HTTP API: GET /healthz, GET /v1/events/:profile (Server-Sent Events).');

export const sourceSchema = z.discriminatedUnion('type', [syslogSourceSchema]);
export const sinkSchema = z.discriminatedUnion('type', [redisStreamsSinkSchema]);

export const pipelineFileSchema = z
  .strictObject({
    redis: redisSettingsSchema.default({ key_prefix: 'fortistream:', connect_timeout_ms: 5000, writer_lease_seconds: 15 }),
    pipeline: runtimeSettingsSchema.prefault({}),
    spool: spoolSettingsSchema.optional(),
    sessions: sessionsSettingsSchema.optional().describe('Identity sessions: which events open, refresh and close them, and their timeouts.'),
    counters: countersSettingsSchema.optional().describe('Sliding-window counters and their thresholds.'),
    audit: auditSettingsSchema.prefault({}),
    alerts: alertsSettingsSchema.prefault({}),
    sources: z
      .record(componentName, sourceSchema)
      .refine((sources) => Object.keys(sources).length > 0, 'at least one source is needed'),
    sinks: z
      .record(componentName, sinkSchema)
      .refine((sinks) => Object.keys(sinks).length > 0, 'at least one sink is needed'),
    profiles: z
      .record(componentName, profileSettingsSchema)
      .default({})
      .describe('Sanitized audience streams (ml, agent, soc): each projects every event and writes its own stream (after the key prefix).'),
    api: apiSettingsSchema.optional(),
    feeds: feedsSettingsSchema.optional(),
    devices: devicesSettingsSchema.optional(),
    actions: actionsSettingsSchema.optional(),
  })
  .superRefine((file, ctx) => {
    // Every stream has one writer: a profile may not share a stream with a sink or another profile.
    const writers = new Map<string, string>();
    for (const [name, sink] of Object.entries(file.sinks)) {
      writers.set(sink.stream, `sink "${name}"`);
      if (!writers.has(sink.dead_letter_stream)) writers.set(sink.dead_letter_stream, `sink "${name}" (dead letters)`);
    }
    for (const [name, profile] of Object.entries(file.profiles)) {
      if (file.sinks[name] !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['profiles', name], message: `"${name}" is already a sink name; profiles and sinks share one namespace (the API serves /v1/events/<name>)` });
      }
      const stream = profile.stream ?? DEFAULT_PROFILE_STREAM_SUFFIX[profile.type];
      const other = writers.get(stream);
      if (other !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['profiles', name, 'stream'],
          message: `stream "${stream}" is already written by ${other}; give this profile its own stream (one writer per stream)`,
        });
      }
      writers.set(stream, `profile "${name}"`);
    }
    // Actions name devices and webhooks declared elsewhere in the file.
    const devices = new Set(Object.keys(file.devices ?? {}));
    const webhooks = new Set(Object.keys(file.actions?.webhooks ?? {}));
    (file.counters ?? []).forEach((counter, index) => {
      const action = counter.action;
      if (action?.type === 'ban-ip' && action.device !== undefined && !devices.has(action.device)) {
        ctx.addIssue({ code: 'custom', path: ['counters', index, 'action', 'device'], message: `no device "${action.device}" under devices:` });
      }
      if (action?.type === 'ban-ip' && devices.size === 0) {
        ctx.addIssue({ code: 'custom', path: ['counters', index, 'action'], message: 'ban-ip needs the FortiGates to call: declare them under devices:' });
      }
      if (action?.type === 'webhook' && !webhooks.has(action.webhook)) {
        ctx.addIssue({ code: 'custom', path: ['counters', index, 'action', 'webhook'], message: `no webhook "${action.webhook}" under actions.webhooks` });
      }
    });
    for (const [name, feed] of Object.entries(file.feeds ?? {})) {
      if (feed.push !== undefined && !devices.has(feed.push.device)) {
        ctx.addIssue({ code: 'custom', path: ['feeds', name, 'push', 'device'], message: `no device "${feed.push.device}" under devices:` });
      }
    }
    const seen = new Map<string, string>();
    for (const [name, source] of Object.entries(file.sources)) {
      if (/:0$/.test(source.address)) continue; // port 0: the kernel picks a different free port for each
      const key = `${source.mode === 'udp' ? 'udp' : 'tcp'} ${source.address}`;
      const other = seen.get(key);
      if (other) {
        ctx.addIssue({
          code: 'custom',
          path: ['sources', name, 'address'],
          message: `${source.address} is already used by source "${other}" (${source.mode === 'udp' ? 'UDP' : 'TCP'})`,
        });
      }
      seen.set(key, name);
    }
  });

export type PipelineFile = z.infer<typeof pipelineFileSchema>;
export type SourceSettings = z.infer<typeof sourceSchema>;
export type SinkSettings = z.infer<typeof sinkSchema>;
export type ProfileFileSettings = PipelineFile['profiles'][string];
export type ApiSettings = z.infer<typeof apiSettingsSchema>;
export type RuntimeSettings = z.infer<typeof runtimeSettingsSchema>;
