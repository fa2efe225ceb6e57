import type { Redis } from 'ioredis';
import type { FortiosError } from './fortios-client.js';
import { actionScope, actionTarget, type ActionJob } from './jobs.js';

/** Outcomes written to the audit stream as `event.action = action.<outcome>`. */
export type ActionAuditOutcome = 'succeeded' | 'failed' | 'retrying' | 'dry_run';

export interface ActionAuditEntry {
  readonly outcome: ActionAuditOutcome;
  readonly jobId: string;
  /** Undefined when the job's data could not be read (it is then audited as failed). */
  readonly action?: ActionJob | undefined;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly timeMs: number;
  readonly httpStatus?: number | undefined;
  readonly fortiosError?: FortiosError | undefined;
  /** Why it failed or will be retried (never holds a token). */
  readonly message?: string | undefined;
  /** `POST https://…/api/v2/…?vdom=root` */
  readonly request?: string | undefined;
  /** JSON body of the call (dry runs: what would have been sent). */
  readonly requestBody?: string | undefined;
  readonly retryInMs?: number | undefined;
}

export interface ActionAuditSettings {
  /** The audit stream's full key (e.g. `fortistream:audit`, what the session scripts write). */
  readonly stream: string;
  readonly maxLen: number;
}

export interface ActionAudit {
  write(entry: ActionAuditEntry): Promise<void>;
}

/**
 * Audit entries share the session entries' shape: `event.action`, `event.reason`, `event.time_ms`,
 * then dotted fields (`action.*`, `http.response.status_code`, `fortios.error`, `error.message`).
 */
export function createActionAudit(redis: Redis, settings: ActionAuditSettings): ActionAudit {
  return {
    async write(entry) {
      const action = entry.action;
      const fields: string[] = [
        'event.action', `action.${entry.outcome}`,
        'event.outcome', entry.outcome === 'succeeded' ? 'success' : entry.outcome === 'failed' ? 'failure' : 'unknown',
        'event.reason', action !== undefined && 'reason' in action ? action.reason : '',
        'event.time_ms', String(entry.timeMs),
        'action.id', entry.jobId,
        'action.type', action?.type ?? 'unknown',
      ];
      if (action !== undefined) {
        fields.push(action.type === 'webhook' ? 'action.webhook' : 'action.device', action.type === 'webhook' ? action.webhook : action.device);
        fields.push('action.scope', actionScope(action), 'action.target', actionTarget(action));
        if (action.type !== 'webhook' && action.type !== 'feed-push') fields.push('source.ip', action.ip);
        if (action.type === 'deauth-user' && action.user !== undefined) fields.push('user.name', action.user);
      }
      fields.push('action.attempt', String(entry.attempt), 'action.max_attempts', String(entry.maxAttempts));
      if (entry.outcome === 'dry_run') fields.push('action.dry_run', 'true');
      if (entry.request !== undefined) fields.push('action.request', entry.request);
      if (entry.requestBody !== undefined) fields.push('action.request_body', entry.requestBody);
      if (entry.retryInMs !== undefined) fields.push('action.retry_in_ms', String(entry.retryInMs));
      if (entry.httpStatus !== undefined) fields.push('http.response.status_code', String(entry.httpStatus));
      if (entry.fortiosError?.code !== undefined) fields.push('fortios.error', String(entry.fortiosError.code));
      if (entry.fortiosError !== undefined && entry.fortiosError.body.length > 0) fields.push('fortios.response', entry.fortiosError.body);
      if (entry.message !== undefined) fields.push('error.message', entry.message);
      await redis.xadd(settings.stream, 'MAXLEN', '~', settings.maxLen, '*', ...fields);
    },
  };
}
