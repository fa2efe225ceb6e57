/**
 * Threshold alerts for the `ml` and `agent` audiences (`alerts: true` on a profile): the alert's
 * figures, and its counter key projected exactly as the key's fields would be in an event of that
 * profile — `user.name` becomes `user.pseudonym`, `source.ip` becomes `source.ip.pseudonym` and
 * `source.network.pseudonym` (the same pseudonyms as in the profile's events, so the two join), a
 * feature field the profile allows passes, anything else is left out. The raw key never appears, not
 * even in the alert's id.
 */
import { alertFields, type CounterAlert } from '../../state/counters.js';
import { splitCounterKey } from '../../state/rules/counter-update.js';
import { NULL_SENTINELS } from '../fields.js';
import type { NormalizedEvent } from '../../parse/event.js';
import { projectEvent, requireKeyring, type ProjectionContext } from './project.js';
import type { CompiledProfile } from './settings.js';

/**
 * The profile's stream entry for an alert. `keyFields`: the counter's `key` fields, in order (empty
 * or unknown: the key is left out). `nowMs`: the entry's `@timestamp`.
 */
export function projectAlert(
  alert: CounterAlert,
  keyFields: readonly string[],
  profile: CompiledProfile,
  ctx: ProjectionContext,
  nowMs: number,
): string[] {
  const keyring = requireKeyring(profile, ctx);
  const parts = keyFields.length > 0 ? splitCounterKey(alert.key, keyFields.length) : undefined;
  let keyProjection: string[] = [];
  if (parts !== undefined) {
    const fields: string[] = [];
    keyFields.forEach((field, i) => {
      const value = parts[i] as string;
      if (value !== '' && !NULL_SENTINELS.has(value)) fields.push(field, value);
    });
    const keyEvent: NormalizedEvent = { fields, timeMs: alert.windowEndMs };
    keyProjection = projectEvent(keyEvent, profile, ctx);
  }
  // The id names the same alert in every repeat (at-least-once) without the raw key: the key's
  // pseudonym under this profile's key (opaque; stable while the key id is current).
  const keyId = ctx.pseudonymizer.pseudonymize(keyring, 'host', `${alert.counter}\u0000${alert.key}`) ?? `${keyring.current}:-`;
  return [...alertFields(alert, `${alert.counter}|${keyId}|${alert.windowEndMs}`, [], nowMs), ...keyProjection];
}
