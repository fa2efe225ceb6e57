import type { FieldCondition, When } from '../rules-schema.js';

/**
 * Field conditions compiled against a slot table: each field a rule reads gets a slot in one
 * per-event value table, filled by one pass over the event's fields.
 *
 * Field values `''`, `N/A` and `(null)` are what FortiGate writes for "none" (`user="N/A"` on a
 * new SSL-VPN connection, `tunnelip=(null)` on a failed login, `xauthuser="N/A"` on a site-to-site
 * tunnel): wherever a rule reads a value (user, addresses, ids, groups, counter keys and values, and
 * `{ exists }` conditions) they count as absent. Equality conditions compare the raw value.
 */

export const EVENT_CODE = 'event.code';
export const SERIAL = 'observer.serial_number';
export const OBSERVER_NAME = 'observer.name';
export const VDOM = 'fortinet.firewall.vd';
export const ACTION = 'event.action';
export const USER = 'user.name';

export function isAbsent(value: string | undefined): value is undefined {
  return value === undefined || value === '' || value === 'N/A' || value === '(null)';
}

export type Condition =
  | { readonly slot: number; readonly kind: 'eq'; readonly value: string }
  | { readonly slot: number; readonly kind: 'in'; readonly values: ReadonlySet<string> }
  | { readonly slot: number; readonly kind: 'exists'; readonly present: boolean };

/** Field name → slot in the per-event value table. Only names some rule reads get a slot. */
export class SlotTable {
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
export function compileWhen(when: When, table: SlotTable): { conditions: Condition[]; codes: string[] | undefined } {
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

export function matches(conditions: readonly Condition[], values: readonly (string | undefined)[]): boolean {
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

export function firstPresent(slots: readonly number[], values: readonly (string | undefined)[]): string | undefined {
  for (let i = 0; i < slots.length; i++) {
    const value = values[slots[i] as number];
    if (!isAbsent(value)) return value;
  }
  return undefined;
}
