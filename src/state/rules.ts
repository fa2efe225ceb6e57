import type { NormalizedEvent } from '../parse/event.js';
import type { CounterSpec, CounterUpdate } from './counters.js';
import {
  NO_EXPIRY_SECONDS,
  type CounterActionSettings,
  type CountersSettings,
  type FieldCondition,
  type SessionRuleSettings,
  type SessionsSettings,
  type TimeoutSettings,
  type When,
} from './rules-schema.js';
import type { SessionMethod, SessionOpenInput, TimeoutType } from './session-model.js';
import type { SessionActivity, SessionCloseSelector } from './sessions.js';

/**
 * The state rules: turns normalized events into session operations and counter updates. Pure (no
 * Redis, no clock) and built for the hot path: rules are compiled once into a dispatch table keyed
 * by `event.code` (log id) plus a list of rules without a log id condition; an event whose log id no
 * rule names, when every rule names one, costs one scan for `event.code` and allocates nothing.
 *
 * Field values `''`, `N/A` and `(null)` are what FortiGate writes for "none" (`user="N/A"` on a
 * new SSL-VPN connection, `tunnelip=(null)` on a failed login, `xauthuser="N/A"` on a site-to-site
 * tunnel): wherever a rule reads a value (user, addresses, ids, groups, counter keys and values, and
 * `{ exists }` conditions) they count as absent. Equality conditions compare the raw value.
 */

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

const EVENT_CODE = 'event.code';
const SERIAL = 'observer.serial_number';
const OBSERVER_NAME = 'observer.name';
const VDOM = 'fortinet.firewall.vd';
const ACTION = 'event.action';
const USER = 'user.name';
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

function isAbsent(value: string | undefined): value is undefined {
  return value === undefined || value === '' || value === 'N/A' || value === '(null)';
}

type Condition =
  | { readonly slot: number; readonly kind: 'eq'; readonly value: string }
  | { readonly slot: number; readonly kind: 'in'; readonly values: ReadonlySet<string> }
  | { readonly slot: number; readonly kind: 'exists'; readonly present: boolean };

interface CompiledSessionRule {
  readonly kind: 'session';
  readonly order: number;
  readonly name: string;
  readonly op: 'open' | 'refresh' | 'close';
  readonly method: SessionMethod;
  readonly conditions: readonly Condition[];
  readonly userSlots: readonly number[];
  readonly ipSlots: readonly number[];
  readonly tunnelIpSlots: readonly number[];
  readonly externalIdSlots: readonly number[];
  readonly groupSlots: readonly number[];
  readonly closeBy: 'ip' | 'external' | 'tunnel_ip';
  readonly sameDevice: boolean;
}

interface CompiledCounter {
  readonly kind: 'counter';
  readonly order: number;
  readonly spec: CounterSpec;
  readonly conditions: readonly Condition[];
  readonly keySlots: readonly number[];
  readonly valueSlot: number;
  /** The counter has an action: its updates carry the device, and our own REST calls' logs are skipped. */
  readonly hasAction: boolean;
}

type CompiledItem = CompiledSessionRule | CompiledCounter;

interface ResolvedTimeout {
  readonly type: TimeoutType;
  readonly seconds: number;
}

function resolveTimeoutSettings(settings: TimeoutSettings): ResolvedTimeout {
  return {
    type: settings.type === 'idle-timeout' ? 'idle' : 'hard',
    // 0 is the FortiGate's "no timeout"; the state layer needs ≥ 1 s, so it becomes 30 days.
    seconds: settings.seconds === 0 ? NO_EXPIRY_SECONDS : settings.seconds,
  };
}

/** Field name → slot in the per-event value table. Only names some rule reads get a slot. */
class SlotTable {
  readonly slots = new Map<string, number>();
  slot(name: string): number {
    let slot = this.slots.get(name);
    if (slot === undefined) {
      slot = this.slots.size;
      this.slots.set(name, slot);
    }
    return slot;
  }
}

function conditionValues(condition: FieldCondition): string[] | undefined {
  if (Array.isArray(condition)) return condition.map((value) => String(value));
  if (typeof condition === 'object') return undefined;
  return [String(condition)];
}

/** Compiles a `when`, leaving out the `event.code` condition (the dispatch table covers it). */
function compileWhen(when: When, table: SlotTable): { conditions: Condition[]; codes: string[] | undefined } {
  const conditions: Condition[] = [];
  let codes: string[] | undefined;
  for (const [field, condition] of Object.entries(when)) {
    const values = conditionValues(condition);
    if (field === EVENT_CODE && values !== undefined) {
      codes = values;
      continue;
    }
    const slot = table.slot(field);
    if (values === undefined) {
      const present = typeof condition === 'object' && !Array.isArray(condition) && condition.exists;
      conditions.push({ slot, kind: 'exists', present });
    } else if (values.length === 1) {
      conditions.push({ slot, kind: 'eq', value: values[0] as string });
    } else {
      conditions.push({ slot, kind: 'in', values: new Set(values) });
    }
  }
  return { conditions, codes };
}

function matches(conditions: readonly Condition[], values: readonly (string | undefined)[]): boolean {
  for (let i = 0; i < conditions.length; i++) {
    const condition = conditions[i] as Condition;
    const value = values[condition.slot];
    switch (condition.kind) {
      case 'eq':
        if (value !== condition.value) return false;
        break;
      case 'in':
        if (value === undefined || !condition.values.has(value)) return false;
        break;
      case 'exists':
        if (isAbsent(value) === condition.present) return false;
        break;
    }
  }
  return true;
}

function firstPresent(slots: readonly number[], values: readonly (string | undefined)[]): string | undefined {
  for (let i = 0; i < slots.length; i++) {
    const value = values[slots[i] as number];
    if (!isAbsent(value)) return value;
  }
  return undefined;
}

/**
 * Compiles the `sessions` and `counters` sections (already validated by their schemas; either may be
 * undefined: no sessions / no counters).
 */
export function compileRules(
  sessions: SessionsSettings | undefined,
  counters: CountersSettings | undefined,
  options: CompileRulesOptions = {},
): CompiledRules {
  const table = new SlotTable();
  const feedbackUsers = new Set(options.feedbackUsers ?? []);
  const codeSlot = table.slot(EVENT_CODE);
  const serialSlot = table.slot(SERIAL);
  const observerNameSlot = table.slot(OBSERVER_NAME);
  const vdomSlot = table.slot(VDOM);
  const actionSlot = table.slot(ACTION);
  const userSlot = table.slot(USER);
  const counterActions = new Map<string, CounterActionSettings>();

  const byCode = new Map<string, CompiledItem[]>();
  const generic: CompiledItem[] = [];
  let order = 0;

  const place = (item: CompiledItem, codes: string[] | undefined): void => {
    if (codes === undefined) {
      generic.push(item);
      return;
    }
    for (const code of new Set(codes)) {
      const list = byCode.get(code);
      if (list === undefined) byCode.set(code, [item]);
      else list.push(item);
    }
  };

  const sessionRules: readonly SessionRuleSettings[] = sessions?.rules ?? [];
  for (const rule of sessionRules) {
    const { conditions, codes } = compileWhen(rule.when, table);
    const compiled: CompiledSessionRule = {
      kind: 'session',
      order: order++,
      name: rule.name,
      op: rule.do,
      // Refresh rules have no method (the schema forbids one); the value is unused for them.
      method: rule.method ?? 'firewall',
      conditions,
      userSlots: rule.user_from.map((f) => table.slot(f)),
      ipSlots: rule.ip_from.map((f) => table.slot(f)),
      tunnelIpSlots: (rule.tunnel_ip_from ?? []).map((f) => table.slot(f)),
      externalIdSlots: (rule.external_id_from ?? []).map((f) => table.slot(f)),
      groupSlots: rule.groups_from.map((f) => table.slot(f)),
      closeBy: rule.close_by ?? 'ip',
      sameDevice: rule.same_device,
    };
    place(compiled, codes);
  }

  const specs: CounterSpec[] = [];
  for (const counter of counters ?? []) {
    const { conditions, codes } = compileWhen(counter.when, table);
    const spec: CounterSpec = Object.freeze({
      name: counter.name,
      windowSeconds: counter.window_seconds,
      bucketSeconds: counter.bucket_seconds,
      latenessSeconds: counter.lateness_seconds ?? counter.window_seconds,
      ...(counter.threshold !== undefined ? { threshold: counter.threshold } : {}),
    });
    specs.push(spec);
    if (counter.action !== undefined) counterActions.set(counter.name, counter.action);
    place(
      {
        kind: 'counter',
        order: order++,
        spec,
        conditions,
        keySlots: counter.key.map((f) => table.slot(f)),
        valueSlot: counter.value === undefined ? -1 : table.slot(counter.value),
        hasAction: counter.action !== undefined,
      },
      codes,
    );
  }

  // Each log id's list also holds the generic items, in declaration order: one list per event.
  for (const [code, list] of byCode) {
    byCode.set(code, [...list, ...generic].sort((a, b) => a.order - b.order));
  }

  const defaultTimeout = resolveTimeoutSettings(sessions?.timeout ?? { type: 'idle-timeout', seconds: 300 });
  const methodTimeouts = new Map<SessionMethod, ResolvedTimeout>();
  for (const [method, settings] of Object.entries(sessions?.methods ?? {})) {
    if (settings !== undefined) methodTimeouts.set(method as SessionMethod, resolveTimeoutSettings(settings));
  }
  const groupTimeouts: [string, ResolvedTimeout][] = Object.entries(sessions?.groups ?? {}).map(([group, settings]) => [
    group,
    resolveTimeoutSettings(settings),
  ]);

  function resolveTimeout(method: SessionMethod, groups: readonly string[]): ResolvedTimeout {
    if (groups.length > 0) {
      for (const [group, timeout] of groupTimeouts) if (groups.includes(group)) return timeout;
    }
    return methodTimeouts.get(method) ?? defaultTimeout;
  }

  const slots = table.slots;
  const slotCount = slots.size;
  // One value table for every event: evaluation is synchronous and never re-entered.
  const values: (string | undefined)[] = new Array<string | undefined>(slotCount).fill(undefined);

  function evaluateBatch(events: readonly NormalizedEvent[]): RuleBatchResult {
    const result: RuleBatchResult = { sessionOps: [], refreshes: [], counterUpdates: [] };
    for (let e = 0; e < events.length; e++) evaluateInto(events[e] as NormalizedEvent, result);
    return result;
  }

  function evaluateInto(event: NormalizedEvent, result: RuleBatchResult): void {
    const { sessionOps, refreshes, counterUpdates } = result;
    if (byCode.size === 0 && generic.length === 0) return;
    {
      const fields = event.fields;

      // Cheap first look: the log id alone says whether any rule can match.
      let code: string | undefined;
      for (let i = 0; i < fields.length; i += 2) {
        if (fields[i] === EVENT_CODE) {
          code = fields[i + 1];
          break;
        }
      }
      const items = code === undefined ? generic : (byCode.get(code) ?? generic);
      if (items.length === 0) return;

      // One pass fills the values the rules read (first occurrence wins, like getField).
      values.fill(undefined);
      for (let i = 0; i < fields.length; i += 2) {
        const slot = slots.get(fields[i] as string);
        if (slot !== undefined && values[slot] === undefined) values[slot] = fields[i + 1];
      }

      for (let r = 0; r < items.length; r++) {
        const item = items[r] as CompiledItem;
        if (!matches(item.conditions, values)) continue;
        if (item.kind === 'counter') {
          if (item.hasAction && isOwnRestCall()) continue;
          const update = counterUpdate(item, values, event.timeMs, item.hasAction ? deviceValue() : undefined);
          if (update !== undefined) counterUpdates.push(update);
          continue;
        }
        const device = deviceValue() ?? '';
        switch (item.op) {
          case 'open': {
            const input = openInput(item, device, event.timeMs);
            if (input !== undefined) sessionOps.push({ kind: 'open', rule: item.name, input });
            break;
          }
          case 'close': {
            const selector = closeSelector(item, device);
            if (selector !== undefined) {
              const action = values[actionSlot];
              sessionOps.push({
                kind: 'close',
                rule: item.name,
                selector,
                eventTimeMs: event.timeMs,
                reason: isAbsent(action) ? item.name : action,
              });
            }
            break;
          }
          case 'refresh': {
            const ip = firstPresent(item.tunnelIpSlots, values) ?? firstPresent(item.ipSlots, values);
            if (ip === undefined) break;
            const user = firstPresent(item.userSlots, values);
            const activity: { ip: string; timeMs: number; device?: string; user?: string } = { ip, timeMs: event.timeMs };
            if (item.sameDevice && device !== '') activity.device = device;
            if (user !== undefined) activity.user = user;
            refreshes.push(activity);
            break;
          }
        }
      }
    }
  }

  function isOwnRestCall(): boolean {
    if (values[codeSlot] !== REST_API_LOG_ID) return false;
    const user = values[userSlot];
    return user !== undefined && feedbackUsers.has(user);
  }

  // Device: observer.serial_number, else observer.name.
  function deviceValue(): string | undefined {
    const first = values[serialSlot];
    if (!isAbsent(first)) return first;
    const second = values[observerNameSlot];
    return isAbsent(second) ? undefined : second;
  }

  function openInput(rule: CompiledSessionRule, device: string, timeMs: number): SessionOpenInput | undefined {
    const user = firstPresent(rule.userSlots, values);
    if (user === undefined) return undefined;
    const groups: string[] = [];
    for (const slot of rule.groupSlots) {
      const group = values[slot];
      if (!isAbsent(group) && !groups.includes(group)) groups.push(group);
    }
    const timeout = resolveTimeout(rule.method, groups);
    const code = values[codeSlot];
    const input: {
      -readonly [K in keyof SessionOpenInput]: SessionOpenInput[K];
    } = {
      user,
      ip: firstPresent(rule.ipSlots, values) ?? '',
      device,
      method: rule.method,
      eventTimeMs: timeMs,
      timeoutType: timeout.type,
      timeoutSeconds: timeout.seconds,
      openedBy: isAbsent(code) ? rule.name : code,
    };
    if (groups.length > 0) input.groups = groups;
    const tunnelIp = firstPresent(rule.tunnelIpSlots, values);
    if (tunnelIp !== undefined) input.tunnelIp = tunnelIp;
    const vdom = values[vdomSlot];
    if (!isAbsent(vdom)) input.vdom = vdom;
    const externalId = firstPresent(rule.externalIdSlots, values);
    if (externalId !== undefined) input.externalId = externalId;
    return input;
  }

  function closeSelector(rule: CompiledSessionRule, device: string): SessionCloseSelector | undefined {
    switch (rule.closeBy) {
      case 'external': {
        const externalId = firstPresent(rule.externalIdSlots, values);
        return externalId === undefined ? undefined : { by: 'external', device, method: rule.method, externalId };
      }
      case 'tunnel_ip': {
        const ip = firstPresent(rule.tunnelIpSlots, values);
        return ip === undefined ? undefined : { by: 'ip', ip, method: rule.method, device };
      }
      case 'ip': {
        const ip = firstPresent(rule.ipSlots, values);
        return ip === undefined ? undefined : { by: 'ip', ip, method: rule.method, device };
      }
    }
  }

  return {
    counters: specs,
    counterActions,
    sessionRuleCount: sessionRules.length,
    evaluateBatch,
    evaluateInto,
    resolveTimeout,
  };
}

/** Integer ≥ 1 from a field value (digits only); undefined otherwise. */
function positiveInteger(value: string | undefined): number | undefined {
  if (value === undefined || value.length === 0 || value.length > 15) return undefined;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  const n = Number(value);
  return n >= 1 ? n : undefined;
}

function counterUpdate(
  counter: CompiledCounter,
  values: readonly (string | undefined)[],
  timeMs: number,
  device: string | undefined,
): CounterUpdate | undefined {
  let key: string | undefined;
  const keySlots = counter.keySlots;
  for (let i = 0; i < keySlots.length; i++) {
    const part = values[keySlots[i] as number];
    if (isAbsent(part)) return undefined;
    key = key === undefined ? part : `${key}|${part}`;
  }
  if (key === undefined) return undefined;
  if (counter.valueSlot < 0) return device === undefined ? { counter: counter.spec, key, timeMs } : { counter: counter.spec, key, timeMs, device };
  // A sum of a field: no value, a non-integer or 0 adds nothing, so no update (no Redis call).
  const increment = positiveInteger(values[counter.valueSlot]);
  if (increment === undefined) return undefined;
  return device === undefined ? { counter: counter.spec, key, timeMs, increment } : { counter: counter.spec, key, timeMs, increment, device };
}
