/** Per-event identity extraction: the identity each pseudonym field carries, and the names scrubbed from text. */

import { DEVICE_NAME_FIELDS, GROUP_NAME_FIELDS, HOST_NAME_FIELDS, IDENTITY_RULES, NULL_SENTINELS, USER_NAME_FIELDS } from '../fields.js';
import type { PseudonymKind } from '../pseudonymize.js';

interface FieldRole {
  readonly rule: number;
  readonly rank: number;
}

const IDENTITY_ROLES = new Map<string, FieldRole[]>();
IDENTITY_RULES.forEach((rule, ruleIndex) => {
  rule.from.forEach((field, rank) => {
    const roles = IDENTITY_ROLES.get(field) ?? [];
    roles.push({ rule: ruleIndex, rank });
    IDENTITY_ROLES.set(field, roles);
  });
});

/** Values scrubbed from agent text, by the pseudonym kind that replaces them. */
const SCRUB_KINDS = new Map<string, PseudonymKind>([
  ...USER_NAME_FIELDS.map((name): [string, PseudonymKind] => [name, 'user']),
  ...GROUP_NAME_FIELDS.map((name): [string, PseudonymKind] => [name, 'group']),
  ...DEVICE_NAME_FIELDS.map((name): [string, PseudonymKind] => [name, 'device']),
  ...HOST_NAME_FIELDS.map((name): [string, PseudonymKind] => [name, 'host']),
]);

export interface Scrub {
  readonly kind: PseudonymKind;
  readonly raw: string;
  /** NFKC + lowercase, as the neutralized text is searched. */
  readonly needle: string;
}

export interface EventIdentities {
  readonly chosen: (string | undefined)[];
  readonly scrubs: Scrub[];
}

export function isNull(value: string): boolean {
  return NULL_SENTINELS.has(value);
}

export function extractIdentities(fields: readonly string[]): EventIdentities {
  const chosen: (string | undefined)[] = new Array<string | undefined>(IDENTITY_RULES.length);
  const ranks: number[] = new Array<number>(IDENTITY_RULES.length).fill(Number.POSITIVE_INFINITY);
  const scrubs: Scrub[] = [];
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    const value = fields[i + 1] as string;
    const roles = IDENTITY_ROLES.get(name);
    const scrubKind = SCRUB_KINDS.get(name);
    if ((!roles && !scrubKind) || isNull(value.trim())) continue;
    if (roles) {
      for (const role of roles) {
        if (role.rank < (ranks[role.rule] as number)) {
          ranks[role.rule] = role.rank;
          chosen[role.rule] = value;
        }
      }
    }
    if (scrubKind) {
      const needle = value.normalize('NFKC').trim().toLowerCase();
      if (needle.length > 0 && !scrubs.some((s) => s.needle === needle)) scrubs.push({ kind: scrubKind, raw: value, needle });
    }
  }
  // longest first, so `alice.smith` is replaced before `alice`
  scrubs.sort((a, b) => b.needle.length - a.needle.length);
  return { chosen, scrubs };
}
