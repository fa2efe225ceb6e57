import type { NormalizedEvent } from '../../parse/event.js';
import type { SessionMethod, SessionOpenInput } from '../session-model.js';
import type { SessionCloseSelector } from '../sessions.js';
import { ACTION, EVENT_CODE, firstPresent, isAbsent, matches, OBSERVER_NAME, SERIAL, USER, VDOM, type SlotTable } from './conditions.js';
import { REST_API_LOG_ID, type CompiledRules, type RuleBatchResult } from './contracts.js';
import { counterUpdate } from './counter-update.js';
import type { CompiledItem, CompiledSessionRule, RuleDispatch } from './dispatch.js';
import type { ResolvedTimeout } from './timeouts.js';

// A module constant, not the imported binding: the scan below reads it for every field of every
// event, and an imported binding is a load through a cell on each read (~1 % of the rules bench).
const LOG_ID_FIELD = EVENT_CODE;

/**
 * Evaluation of compiled rules, built for the hot path: an event whose log id no rule names, when
 * every rule names one, costs one scan for `event.code` and allocates nothing.
 */

/** Slots of the fields evaluation itself reads (the log id, the device, the VDOM, the action, the user). */
export interface CoreSlots {
  readonly code: number;
  readonly serial: number;
  readonly observerName: number;
  readonly vdom: number;
  readonly action: number;
  readonly user: number;
}

/** Gives the core fields their slots; call it on the fresh table, before the rules are compiled. */
export function reserveCoreSlots(table: SlotTable): CoreSlots {
  return {
    code: table.slot(EVENT_CODE),
    serial: table.slot(SERIAL),
    observerName: table.slot(OBSERVER_NAME),
    vdom: table.slot(VDOM),
    action: table.slot(ACTION),
    user: table.slot(USER),
  };
}

export interface EvaluatorInput {
  /** The table every compiled slot refers to (complete: no slot is added after this). */
  readonly table: SlotTable;
  readonly core: CoreSlots;
  readonly dispatch: RuleDispatch;
  readonly resolveTimeout: (method: SessionMethod, groups: readonly string[]) => ResolvedTimeout;
  /** See CompileRulesOptions.feedbackUsers. */
  readonly feedbackUsers: ReadonlySet<string>;
}

export function createEvaluator(input: EvaluatorInput): Pick<CompiledRules, 'evaluateBatch' | 'evaluateInto'> {
  const { byCode, generic } = input.dispatch;
  const { resolveTimeout, feedbackUsers } = input;
  const codeSlot = input.core.code;
  const serialSlot = input.core.serial;
  const observerNameSlot = input.core.observerName;
  const vdomSlot = input.core.vdom;
  const actionSlot = input.core.action;
  const userSlot = input.core.user;

  const slots = input.table.slots;
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
        if (fields[i] === LOG_ID_FIELD) {
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

  return { evaluateBatch, evaluateInto };
}
