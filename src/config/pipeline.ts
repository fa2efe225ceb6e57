import { z } from 'zod';
import { syslogSourceSchema } from '../sources/syslog/settings.js';
import { redisStreamsSinkSchema } from '../sinks/redis-streams.js';
import { countersSettingsSchema, sessionsSettingsSchema } from '../state/rules-schema.js';

const componentName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}$/, 'component names are lower-case letters, digits and _ (start with a letter)');

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
      .describe('Raw bytes held between sources and Redis. Above it TCP/TLS sockets pause and UDP datagrams are dropped (counted).'),
    retry_initial_ms: z.int().min(10).max(60_000).default(100).describe('First wait before retrying a failed write.'),
    retry_max_ms: z.int().min(10).max(300_000).default(5000).describe('Longest wait between retries of a failed write.'),
    shutdown_timeout_seconds: z.number().min(0).max(600).default(10).describe('How long a shutdown may spend flushing buffered events.'),
  })
  .describe('Batching, buffering and retry of the event pipeline.');

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

export const sourceSchema = z.discriminatedUnion('type', [syslogSourceSchema]);
export const sinkSchema = z.discriminatedUnion('type', [redisStreamsSinkSchema]);

export const pipelineFileSchema = z
  .strictObject({
    redis: redisSettingsSchema.default({ key_prefix: 'fortistream:', connect_timeout_ms: 5000 }),
    pipeline: runtimeSettingsSchema.prefault({}),
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
  })
  .superRefine((file, ctx) => {
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
export type RuntimeSettings = z.infer<typeof runtimeSettingsSchema>;
