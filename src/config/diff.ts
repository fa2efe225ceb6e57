/**
 * What changed between two validated pipelines, in the terms a reload acts on and logs: named
 * components (sources, sinks, profiles, counters, session rules) added, removed or changed, settings
 * sections that changed, and sections that only a restart can change.
 */

import type { PipelineFile } from './pipeline.js';

/** Top-level sections a running worker cannot switch: the connection and key layout, the API listener. */
export const RESTART_SECTIONS = ['redis', 'api', 'audit', 'spool', 'feeds'] as const;
export type RestartSection = (typeof RESTART_SECTIONS)[number];

/** Named parts of a pipeline that a reload adds, removes or replaces one by one. */
export const NAMED_PARTS = ['sources', 'sinks', 'profiles', 'counters', 'session_rules'] as const;
export type NamedPart = (typeof NAMED_PARTS)[number];

export interface NamedChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
}

export interface PipelineDiff {
  readonly parts: Readonly<Record<NamedPart, NamedChanges>>;
  /**
   * Changed settings outside the named parts, as key paths: `pipeline`, `alerts`, `sessions` (added or
   * removed as a whole), `sessions.timeout`, … and any top-level section this worker does not know
   * (`actions`, `feeds`, …: the `onReload` listeners handle those).
   */
  readonly settings: readonly string[];
  /** Sections that differ but need a restart; the running worker keeps the old ones. */
  readonly restartNeeded: readonly RestartSection[];
}

/** Structural equality of plain (JSON-like) values; key order does not matter. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left).filter((key) => left[key] !== undefined);
  if (keys.length !== Object.keys(right).filter((key) => right[key] !== undefined).length) return false;
  return keys.every((key) => Object.hasOwn(right, key) && deepEqual(left[key], right[key]));
}

/** Added, removed and changed names between two name → settings maps. */
export function diffNamed(previous: Readonly<Record<string, unknown>>, next: Readonly<Record<string, unknown>>): NamedChanges {
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  for (const [name, settings] of Object.entries(next)) {
    if (!Object.hasOwn(previous, name)) added.push(name);
    else if (!deepEqual(previous[name], settings)) changed.push(name);
  }
  for (const name of Object.keys(previous)) if (!Object.hasOwn(next, name)) removed.push(name);
  return { added, removed, changed };
}

function byName<T extends { readonly name: string }>(items: readonly T[] | undefined): Record<string, T> {
  const out: Record<string, T> = {};
  for (const item of items ?? []) out[item.name] = item;
  return out;
}

/** Sections compared part by part (not as a whole) by `diffPipelines`. */
const PART_SECTIONS = new Set(['sources', 'sinks', 'profiles', 'counters', 'sessions']);

export function diffPipelines(previous: Readonly<PipelineFile>, next: Readonly<PipelineFile>): PipelineDiff {
  const sessionsBefore = previous.sessions;
  const sessionsAfter = next.sessions;
  const parts: Record<NamedPart, NamedChanges> = {
    sources: diffNamed(previous.sources, next.sources),
    sinks: diffNamed(previous.sinks, next.sinks),
    profiles: diffNamed(previous.profiles, next.profiles),
    counters: diffNamed(byName(previous.counters), byName(next.counters)),
    session_rules: diffNamed(byName(sessionsBefore?.rules), byName(sessionsAfter?.rules)),
  };
  const settings: string[] = [];
  const restartNeeded: RestartSection[] = [];
  const before = previous as Readonly<Record<string, unknown>>;
  const after = next as Readonly<Record<string, unknown>>;
  const sections = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  for (const section of sections) {
    if (PART_SECTIONS.has(section) || deepEqual(before[section], after[section])) continue;
    if ((RESTART_SECTIONS as readonly string[]).includes(section)) restartNeeded.push(section as RestartSection);
    else settings.push(section);
  }
  if ((sessionsBefore === undefined) !== (sessionsAfter === undefined)) {
    settings.push('sessions');
  } else if (sessionsBefore !== undefined && sessionsAfter !== undefined) {
    for (const key of Object.keys(sessionsAfter) as (keyof typeof sessionsAfter)[]) {
      if (key !== 'rules' && !deepEqual(sessionsBefore[key], sessionsAfter[key])) settings.push(`sessions.${key}`);
    }
  }
  // An empty counters list and none at all behave alike, except that the state stage needs one of the two sections.
  if ((previous.counters === undefined) !== (next.counters === undefined)) settings.push('counters');
  return { parts, settings, restartNeeded };
}

/** True when nothing a reload can apply changed (restart-only sections may differ). */
export function isUnchanged(diff: PipelineDiff): boolean {
  return diff.settings.length === 0 && NAMED_PARTS.every((part) => {
    const changes = diff.parts[part];
    return changes.added.length === 0 && changes.removed.length === 0 && changes.changed.length === 0;
  });
}

export interface DiffSummary {
  added?: Partial<Record<NamedPart, string[]>>;
  removed?: Partial<Record<NamedPart, string[]>>;
  changed?: Partial<Record<NamedPart | 'settings', string[]>>;
  restart_needed?: string[];
}

/** The diff as one log field: `{added: {counters: [...]}, removed: {...}, changed: {...}, restart_needed: [...]}`. */
export function summarizeDiff(diff: PipelineDiff): DiffSummary {
  const summary: DiffSummary = {};
  for (const part of NAMED_PARTS) {
    const changes = diff.parts[part];
    if (changes.added.length > 0) (summary.added ??= {})[part] = [...changes.added];
    if (changes.removed.length > 0) (summary.removed ??= {})[part] = [...changes.removed];
    if (changes.changed.length > 0) (summary.changed ??= {})[part] = [...changes.changed];
  }
  if (diff.settings.length > 0) (summary.changed ??= {}).settings = [...diff.settings];
  if (diff.restartNeeded.length > 0) summary.restart_needed = [...diff.restartNeeded];
  return summary;
}
