import { z } from 'zod';

/**
 * Pipeline settings of the enforcement side: `devices` (the FortiGates fortistream may call) and
 * `actions` (the BullMQ queue that calls them, and webhooks). Both are top-level pipeline keys.
 */

const deviceName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}$/, 'device and webhook names are lower-case letters, digits and _ (start with a letter)');

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');

const httpUrl = z
  .string()
  .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, 'an http:// or https:// URL without query or fragment, e.g. https://10.0.0.1:8443')
  .refine((url) => {
    try {
      const parsed = new URL(url);
      return parsed.username === '' && parsed.password === '';
    } catch {
      return false;
    }
  }, 'a valid URL without user:password@ (the token goes in token_file or token_env)');

/** Exactly one of token_file / token_env (`required`), or at most one. */
function tokenSourceCheck(required: boolean) {
  return (value: { token_file?: string | undefined; token_env?: string | undefined }, ctx: z.RefinementCtx): void => {
    const count = (value.token_file === undefined ? 0 : 1) + (value.token_env === undefined ? 0 : 1);
    if (count > 1) ctx.addIssue({ code: 'custom', path: ['token_env'], message: 'give token_file or token_env, not both' });
    if (required && count === 0) ctx.addIssue({ code: 'custom', path: ['token_file'], message: 'a REST API token is needed: token_file (mode 600) or token_env' });
  };
}

export const deviceSettingsSchema = z
  .strictObject({
    base_url: httpUrl.describe('Where the FortiGate\'s REST API answers, e.g. https://10.0.0.1:8443. http:// is allowed but logged as a warning (the token would cross the network in clear).'),
    token_file: z.string().min(1).optional().describe('File holding the REST API admin token (first line). Refused when readable or writable by others (chmod 600).'),
    token_env: envName.optional().describe('Environment variable holding the REST API token (instead of token_file).'),
    vdom: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,31}$/, 'a VDOM name (letters, digits, _ . -)')
      .optional()
      .describe('VDOM the calls act in (sent as ?vdom=). Unset: the token\'s default VDOM.'),
    verify_tls: z.boolean().default(true).describe('Verify the FortiGate\'s certificate (chain and name). false is logged as a warning at start.'),
    ca_file: z.string().min(1).optional().describe('PEM CA(s) the FortiGate\'s certificate must chain to (e.g. its self-signed certificate\'s CA). Unset: the system CAs.'),
    serials: z.array(z.string().min(1)).default([]).describe('observer.serial values (devid) of logs that come from this FortiGate.'),
    names: z.array(z.string().min(1)).default([]).describe('observer.name values (devname) of logs that come from this FortiGate.'),
    api_user: z
      .string()
      .min(1)
      .optional()
      .describe('The REST API admin user fortistream calls as: its own rest-api logs (logid 0116047301) must never trigger actions.'),
    dry_run: z.boolean().default(false).describe('Log and audit the call that would be made, call nothing.'),
    max_calls_per_second: z
      .number()
      .positive()
      .max(1000)
      .default(5)
      .describe('Calls to this FortiGate are spaced at least 1/max_calls_per_second seconds apart (across every worker sharing the Redis).'),
    timeout_ms: z.int().min(100).max(120_000).default(5000).describe('Time allowed for one call (connect, TLS, response).'),
  })
  .superRefine(tokenSourceCheck(true))
  .describe('One FortiGate fortistream may call.');

export const webhookSettingsSchema = z
  .strictObject({
    url: httpUrl.describe('Where the JSON payload is POSTed.'),
    token_file: z.string().min(1).optional().describe('Optional bearer token file (first line; mode 600): sent as Authorization: Bearer.'),
    token_env: envName.optional().describe('Optional environment variable holding the bearer token (instead of token_file).'),
    timeout_ms: z.int().min(100).max(120_000).default(5000).describe('Time allowed for one POST.'),
    verify_tls: z.boolean().default(true).describe('Verify the server certificate (https://). false is logged as a warning.'),
    ca_file: z.string().min(1).optional().describe('PEM CA(s) for the server certificate. Unset: the system CAs.'),
  })
  .superRefine(tokenSourceCheck(false))
  .describe('A webhook that receives alerts as JSON.');

export const devicesSettingsSchema = z
  .record(deviceName, deviceSettingsSchema)
  .superRefine((devices, ctx) => {
    // A log must map to one device at most, or an action could hit the wrong FortiGate.
    for (const field of ['serials', 'names'] as const) {
      const owner = new Map<string, string>();
      for (const [name, device] of Object.entries(devices)) {
        for (const value of device[field]) {
          const other = owner.get(value);
          if (other !== undefined && other !== name) {
            ctx.addIssue({ code: 'custom', path: [name, field], message: `"${value}" is already listed by device "${other}"` });
          }
          owner.set(value, name);
        }
      }
    }
  })
  .describe('The FortiGates fortistream may call (REST API), by name.');

export const actionsSettingsSchema = z
  .strictObject({
    queue: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits and _ . - (BullMQ refuses : in queue names)')
      .default('fortistream-actions')
      .describe('BullMQ queue name. Its keys live under <key_prefix>{bull}:<queue>:.'),
    attempts: z.int().min(1).max(100).default(6).describe('Tries of a job that meets 5xx, timeouts or connection errors (4xx is never retried).'),
    backoff_initial_ms: z.int().min(10).max(3_600_000).default(1000).describe('Wait before the first retry; doubles each retry (exponential).'),
    concurrency: z.int().min(1).max(256).default(4).describe('Jobs a runner works on at once (across every device).'),
    keep_failed: z.int().min(0).max(10_000_000).default(10_000).describe('Failed jobs kept for `fortistream actions --failed` and `actions retry` (the newest this many).'),
    keep_completed_seconds: z
      .int()
      .min(0)
      .max(30 * 86_400)
      .default(3600)
      .describe('Completed jobs are kept at least this long: an identical job (same id) enqueued meanwhile is a duplicate and not run again.'),
    webhooks: z.record(deviceName, webhookSettingsSchema).default({}).describe('Webhooks that receive JSON alerts (job type webhook), by name.'),
  })
  .describe('Enforcement jobs: the BullMQ queue that calls FortiGates and webhooks.');

export type DeviceSettings = z.infer<typeof deviceSettingsSchema>;
export type DevicesSettings = z.infer<typeof devicesSettingsSchema>;
export type WebhookSettings = z.infer<typeof webhookSettingsSchema>;
export type ActionsSettings = z.infer<typeof actionsSettingsSchema>;
export type DeviceSettingsInput = z.input<typeof deviceSettingsSchema>;
export type ActionsSettingsInput = z.input<typeof actionsSettingsSchema>;

/** The `actions:` defaults, for code that runs jobs when the pipeline has no `actions` key. */
export const DEFAULT_ACTIONS_SETTINGS: ActionsSettings = actionsSettingsSchema.parse({});
