/**
 * Normalization: the ECS fields derived from what the scanner remembered (`@timestamp`, outcome,
 * category, transport, bytes and packets, MACs, identity, observer). The parts live in normalize/:
 * finish (the derivation itself), ecs (value mappings), numbers and timestamps (helpers with
 * last-value caches).
 */

export { finish, type FinishInput } from './normalize/finish.js';
export { outcomeOf } from './normalize/ecs.js';
