import type { CounterSpec } from '../counters.js';
import type { CounterActionSettings, CountersSettings, SessionRuleSettings, SessionsSettings } from '../rules-schema.js';
import type { SessionMethod } from '../session-model.js';
import { compileWhen, type Condition, type SlotTable } from './conditions.js';

/**
 * Session rules and counters compiled into one dispatch table keyed by `event.code` (log id), plus
 * the list of items without a log id condition; every list keeps declaration order.
 */

export interface CompiledSessionRule {
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

export interface CompiledCounter {
  readonly kind: 'counter';
  readonly order: number;
  readonly spec: CounterSpec;
  readonly conditions: readonly Condition[];
  readonly keySlots: readonly number[];
  readonly valueSlot: number;
  /** The counter has an action: its updates carry the device, and our own REST calls' logs are skipped. */
  readonly hasAction: boolean;
}

export type CompiledItem = CompiledSessionRule | CompiledCounter;

export interface RuleDispatch {
  /** Log id → the items that name it and the generic items, in declaration order. */
  readonly byCode: ReadonlyMap<string, readonly CompiledItem[]>;
  /** Items without a log id condition, in declaration order. */
  readonly generic: readonly CompiledItem[];
  /** One spec per counter, in declaration order. */
  readonly specs: readonly CounterSpec[];
  readonly counterActions: ReadonlyMap<string, CounterActionSettings>;
  readonly sessionRuleCount: number;
}

/** Compiles the rules and counters; every field they read gets its slot in `table`. */
export function compileDispatch(
  sessions: SessionsSettings | undefined,
  counters: CountersSettings | undefined,
  table: SlotTable,
): RuleDispatch {
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

  return { byCode, generic, specs, counterActions, sessionRuleCount: sessionRules.length };
}
