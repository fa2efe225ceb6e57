import type { NormalizedEvent } from '../../parse/event.js';
import type { CounterSpec, CounterUpdate } from '../counters.js';
import type { CounterActionSettings } from '../rules-schema.js';
import type { SessionMethod, SessionOpenInput, TimeoutType } from '../session-model.js';
import type { SessionActivity, SessionCloseSelector } from '../sessions.js';

/** An open or a close, in event order (a logout followed by a login at the same IP stays in that order). */
export type SessionOp =
  | { readonly kind: 'open'; readonly rule: string; readonly input: SessionOpenInput }
  | {
      readonly kind: 'close';
      readonly rule: string;
      readonly selector: SessionCloseSelector;
      /** Time of the closing event: sessions created after it are kept (see SessionStore.close). */
      readonly eventTimeMs: number;
      /** The event's `event.action` (logout, tunnel-down, FSSO-logoff …), else the rule name. */
      readonly reason: string;
    };

export interface RuleBatchResult {
  /** Opens and closes in event order; apply them in this order (or at least per IP). */
  readonly sessionOps: SessionOp[];
  /** Activity to pass to SessionStore.refresh (it combines per ip/device/user itself). */
  readonly refreshes: SessionActivity[];
  /** Counter contributions, for CounterStore.apply (it combines per counter/key/bucket itself). */
  readonly counterUpdates: CounterUpdate[];
}

export interface CompiledRules {
  /** The counters as the counter store takes them; every update refers to one of these objects. */
  readonly counters: readonly CounterSpec[];
  readonly sessionRuleCount: number;
  /** Evaluates a batch; the result lists are in event order. Never throws on event content. */
  evaluateBatch(events: readonly NormalizedEvent[]): RuleBatchResult;
  /** Evaluates one event and appends what it yields to `result` (events arrive one at a time). */
  evaluateInto(event: NormalizedEvent, result: RuleBatchResult): void;
  /** Counter name → the action its threshold triggers (only counters that declare one). */
  readonly counterActions: ReadonlyMap<string, CounterActionSettings>;
  /** The timeout a session of this method and these groups gets (per-group, then per-method, then global). */
  resolveTimeout(method: SessionMethod, groups: readonly string[]): { readonly type: TimeoutType; readonly seconds: number };
}

/** event/rest-api "REST API request success/failure": what the FortiGate logs for every REST call. */
export const REST_API_LOG_ID = '0116047301';

export interface CompileRulesOptions {
  /**
   * The REST API users fortistream calls the FortiGates as (`devices.*.api_user`). Their rest-api
   * logs (0116047301) are the echo of our own calls: they never feed a counter that has an action,
   * or a ban could trigger calls whose logs trigger more calls.
   */
  readonly feedbackUsers?: readonly string[];
}
