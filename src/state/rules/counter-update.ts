import type { CounterUpdate } from '../counters.js';
import { isAbsent } from './conditions.js';
import type { CompiledCounter } from './dispatch.js';

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

/** The update a matching counter yields: its key fields' values joined with `|`; undefined when one is absent. */
export function counterUpdate(
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

/**
 * The key fields' values of a counter key made by `counterUpdate` (joined with `|`); undefined when
 * that is ambiguous (a value holding `|` itself).
 */
export function splitCounterKey(key: string, fieldCount: number): string[] | undefined {
  const parts = key.split('|');
  return parts.length === fieldCount ? parts : undefined;
}
