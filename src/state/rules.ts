import type { CountersSettings, SessionsSettings } from './rules-schema.js';
import { SlotTable } from './rules/conditions.js';
import type { CompiledRules, CompileRulesOptions } from './rules/contracts.js';
import { compileDispatch } from './rules/dispatch.js';
import { createEvaluator, reserveCoreSlots } from './rules/evaluate.js';
import { createTimeoutResolver } from './rules/timeouts.js';

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
 *
 * The parts live in rules/: contracts, conditions (slots, `when`), dispatch (compiling the rules and
 * counters), timeouts, evaluate and counter-update.
 */

export { REST_API_LOG_ID, type CompiledRules, type CompileRulesOptions, type RuleBatchResult, type SessionOp } from './rules/contracts.js';

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
  const core = reserveCoreSlots(table);
  const dispatch = compileDispatch(sessions, counters, table);
  const resolveTimeout = createTimeoutResolver(sessions);
  const { evaluateBatch, evaluateInto } = createEvaluator({ table, core, dispatch, resolveTimeout, feedbackUsers });
  return {
    counters: dispatch.specs,
    counterActions: dispatch.counterActions,
    sessionRuleCount: dispatch.sessionRuleCount,
    evaluateBatch,
    evaluateInto,
    resolveTimeout,
  };
}
