import { z } from 'zod';
import type { SessionMethod } from './session-model.js';

/**
 * Settings schemas for the two state sections of a pipeline file: `sessions` (which events open,
 * refresh and close identity sessions, and their timeouts) and `counters` (sliding-window counters).
 * A missing section means no sessions / no counters; the default rules live in `rules-defaults.ts`.
 */

/** A normalized event field: ECS dotted name (`source.ip`, `@timestamp`, `fortinet.firewall.sn`). */
export const eventFieldSchema = z
  .string()
  .regex(/^[A-Za-z0-9_@-]+(?:\.[A-Za-z0-9_@-]+)*$/, 'a dotted event field name such as source.ip or fortinet.firewall.sn');

const fieldListSchema = z.array(eventFieldSchema).min(1, 'at least one field');

const scalarSchema = z.union([z.string(), z.number(), z.boolean()]);

/** One condition of a `when`: a value, a list of values (any matches), or `{ exists: true|false }`. */
export const fieldConditionSchema = z.union([
  scalarSchema,
  z.array(scalarSchema).min(1, 'at least one value'),
  z.strictObject({
    exists: z
      .boolean()
      .describe('true: the field has a value (not empty, not N/A); false: it has none.'),
  }),
]);

/** `when`: every listed field must match; values are compared as strings. */
export const whenSchema = z
  .record(eventFieldSchema, fieldConditionSchema)
  .superRefine((when, ctx) => {
    if (Object.keys(when).length === 0) {
      ctx.addIssue({ code: 'custom', message: 'when needs at least one field condition' });
    }
    const code = when['event.code'];
    if (code !== undefined && !(typeof code === 'object' && !Array.isArray(code))) {
      const values = Array.isArray(code) ? code : [code];
      values.forEach((value, index) => {
        if (typeof value !== 'string' || !/^\d+$/.test(value)) {
          ctx.addIssue({
            code: 'custom',
            path: Array.isArray(code) ? ['event.code', index] : ['event.code'],
            message: 'log ids are quoted digit strings ("0102043008"): YAML reads an unquoted 0102043008 as a number',
          });
        }
      });
    }
  })
  .describe('Event fields that must all match: field: value, field: [values], or field: { exists: true }.');

export const timeoutTypeSchema = z
  .enum(['idle-timeout', 'hard-timeout', 'new-session'])
  .describe(
    "FortiGate auth-timeout-type. idle-timeout: activity extends the session; hard-timeout: fixed from login; new-session: kept like hard-timeout (the FortiGate lets open connections continue, but the identity expires at the same time).",
  );

/** Longest timeout; `seconds: 0` (FortiGate "no timeout", e.g. SSL-VPN auth-timeout 0) maps to it. */
export const NO_EXPIRY_SECONDS = 30 * 24 * 3600;

export const timeoutSchema = z
  .strictObject({
    type: timeoutTypeSchema,
    seconds: z
      .int()
      .min(0)
      .max(NO_EXPIRY_SECONDS)
      .describe('The FortiGate auth-timeout in seconds (its CLI takes minutes for firewall auth). 0 = no timeout: sessions then last 30 days unless closed.'),
  })
  .describe('How long a session lives, mirroring the FortiGate so both sides expire together.');

const methodSchema = z.enum(['firewall', 'fsso', 'sslvpn', 'admin', 'ipsec', 'idp'] satisfies SessionMethod[]);

const methodTimeoutsSchema = z
  .strictObject({
    firewall: timeoutSchema.optional().describe('Firewall authentication (config user setting).'),
    fsso: timeoutSchema.optional().describe('FSSO / auth-logon sessions.'),
    sslvpn: timeoutSchema.optional().describe('SSL-VPN (config vpn ssl settings auth-timeout).'),
    admin: timeoutSchema.optional().describe('Administrator logins (config system global admintimeout).'),
    ipsec: timeoutSchema.optional().describe('IPsec XAUTH / EAP users.'),
    idp: timeoutSchema.optional().describe('Sessions reported by an identity provider.'),
  })
  .describe('Per-method timeouts; a method not listed uses the top-level timeout.');

const ruleNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, _ and - (start with a letter)');

export const sessionRuleSchema = z
  .strictObject({
    name: ruleNameSchema.describe('Rule name (unique); shown in audit entries and metrics.'),
    when: whenSchema,
    do: z
      .enum(['open', 'refresh', 'close'])
      .describe('open: a login; refresh: activity (extends idle sessions); close: a logout / tunnel down.'),
    method: methodSchema
      .optional()
      .describe('Session method; required for open and close, not allowed for refresh (activity refreshes every method).'),
    user_from: fieldListSchema
      .default(['user.name'])
      .describe('Fields holding the user; the first with a value wins. An open without a user does nothing.'),
    ip_from: fieldListSchema
      .default(['source.ip'])
      .describe('Fields holding the source (remote) IP; the first with a value wins.'),
    tunnel_ip_from: fieldListSchema
      .optional()
      .describe('Fields holding the assigned tunnel IP (SSL-VPN, IPsec mode-config); the session is then found by it too.'),
    external_id_from: fieldListSchema
      .optional()
      .describe('Fields holding a correlation id that the closing event repeats (admin sn, tunnel id).'),
    groups_from: fieldListSchema
      .default(['user.group.name'])
      .describe('Fields holding the user group(s); every field with a value adds one group.'),
    close_by: z
      .enum(['ip', 'external', 'tunnel_ip'])
      .optional()
      .describe('close only: find the session by source IP (default), by external id, or by tunnel IP (same method and device).'),
    same_device: z
      .boolean()
      .default(true)
      .describe('refresh only: refresh only sessions opened by the same device (observer serial or name).'),
  })
  .superRefine((rule, ctx) => {
    if (rule.do === 'refresh') {
      if (rule.method !== undefined) ctx.addIssue({ code: 'custom', path: ['method'], message: 'refresh rules refresh sessions of every method: remove method' });
      if (rule.close_by !== undefined) ctx.addIssue({ code: 'custom', path: ['close_by'], message: 'close_by is only for close rules' });
      return;
    }
    if (rule.method === undefined) ctx.addIssue({ code: 'custom', path: ['method'], message: `a ${rule.do} rule needs a method` });
    if (rule.do === 'open' && rule.close_by !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['close_by'], message: 'close_by is only for close rules' });
    }
    if (rule.close_by === 'external' && rule.external_id_from === undefined) {
      ctx.addIssue({ code: 'custom', path: ['external_id_from'], message: 'close_by: external needs external_id_from' });
    }
    if (rule.close_by === 'tunnel_ip' && rule.tunnel_ip_from === undefined) {
      ctx.addIssue({ code: 'custom', path: ['tunnel_ip_from'], message: 'close_by: tunnel_ip needs tunnel_ip_from' });
    }
  })
  .describe('Which events open, refresh or close a session, and where its attributes come from.');

export const sessionsSettingsSchema = z
  .strictObject({
    timeout: timeoutSchema.default({ type: 'idle-timeout', seconds: 300 }),
    methods: methodTimeoutsSchema.default({}),
    groups: z
      .record(z.string().min(1), timeoutSchema)
      .default({})
      .describe('Per-group timeouts, first listed group the user is in wins (before per-method ones). Quote group names that are numbers.'),
    audit_refresh: z.boolean().default(false).describe('Also write session.refreshed to the audit stream (chatty).'),
    sweep_interval_seconds: z
      .number()
      .min(0.1)
      .max(60)
      .default(1)
      .describe('How often expired sessions are swept (and audited as session.expired).'),
    rules: z
      .array(sessionRuleSchema)
      .default([])
      .superRefine((rules, ctx) => {
        const seen = new Set<string>();
        rules.forEach((rule, index) => {
          if (seen.has(rule.name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate rule name ${rule.name}` });
          seen.add(rule.name);
        });
      })
      .describe('Session rules; every matching rule applies, in this order.'),
  })
  .describe('Identity sessions kept in Redis: timeouts and the rules that open, refresh and close them.');

/** Names of devices (`devices:`) and webhooks (`actions.webhooks`); checked against those sections. */
const actionTargetName = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _ (start with a letter)');

const listName = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, _ and - (start with a letter)');

export const counterActionSchema = z
  .discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('ban-ip'),
      seconds: z
        .int()
        .min(0)
        .max(365 * 24 * 3600)
        .describe('Ban duration on the FortiGate (user/banned/add_users expiry); 0 = until cleared.'),
      device: actionTargetName
        .optional()
        .describe('Device (from `devices:`) to ban on. Unset: every configured device that logged the counted events.'),
      list: listName
        .default('blocked')
        .describe('Address list the banned address also joins (for feeds), for the same duration.'),
    }),
    z.strictObject({
      type: z.literal('webhook'),
      webhook: actionTargetName.describe('Webhook name from `actions.webhooks`: the alert is POSTed there as JSON.'),
    }),
  ])
  .describe('What happens when the threshold is crossed, besides the alert: a ban-ip job (the key must be one address field) or a webhook job.');

export const counterSettingsSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _ (start with a letter)')
      .describe('Counter name (unique); part of its Redis keys and alerts.'),
    when: whenSchema,
    key: fieldListSchema.describe("Event fields whose values, joined with '|', key the counter; an event lacking one is not counted."),
    value: eventFieldSchema
      .optional()
      .describe('Sum this integer field (e.g. source.bytes) instead of counting events; events without it are not counted.'),
    window_seconds: z.int().min(1).max(7 * 24 * 3600).describe('Length of the sliding window.'),
    bucket_seconds: z.int().min(1).describe('Resolution of the window; must divide window_seconds.'),
    threshold: z.int().min(1).optional().describe('Alert when the window sum reaches this (at most one alert per key per window).'),
    action: counterActionSchema.optional(),
    lateness_seconds: z
      .int()
      .min(0)
      .optional()
      .describe('How old an event may be (before the newest seen) and still count; default window_seconds.'),
  })
  .superRefine((counter, ctx) => {
    if (counter.bucket_seconds >= 1 && counter.window_seconds % counter.bucket_seconds !== 0) {
      ctx.addIssue({ code: 'custom', path: ['bucket_seconds'], message: `bucket_seconds (${counter.bucket_seconds}) must divide window_seconds (${counter.window_seconds})` });
    }
    if (counter.action !== undefined && counter.threshold === undefined) {
      ctx.addIssue({ code: 'custom', path: ['action'], message: 'an action runs when the threshold is crossed: set threshold' });
    }
    if (counter.action?.type === 'ban-ip' && counter.key.length !== 1) {
      ctx.addIssue({ code: 'custom', path: ['key'], message: 'ban-ip bans the counter key: key must be one address field (e.g. [source.ip])' });
    }
  })
  .describe('A sliding-window counter over matching events.');

export const countersSettingsSchema = z
  .array(counterSettingsSchema)
  .superRefine((counters, ctx) => {
    const seen = new Set<string>();
    counters.forEach((counter, index) => {
      if (seen.has(counter.name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate counter name ${counter.name}` });
      seen.add(counter.name);
    });
  })
  .describe('Sliding-window counters over events (failed logins per user, denies per source, bytes per user …).');

export type FieldCondition = z.infer<typeof fieldConditionSchema>;
export type When = z.infer<typeof whenSchema>;
export type TimeoutSettings = z.infer<typeof timeoutSchema>;
export type SessionRuleSettings = z.infer<typeof sessionRuleSchema>;
export type SessionsSettings = z.infer<typeof sessionsSettingsSchema>;
export type CounterSettings = z.infer<typeof counterSettingsSchema>;
export type CounterActionSettings = z.infer<typeof counterActionSchema>;
export type CountersSettings = z.infer<typeof countersSettingsSchema>;
