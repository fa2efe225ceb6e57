/**
 * The in-memory side of the group index (index.ts): the sessions of the wanted groups, and
 * for each group how many of them hold each address, so that a login or logout changes a count
 * instead of a feed being recomputed from every session.
 *
 * A session is tracked from its `session.opened` (or `session.refreshed`) audit entry, or from the
 * full load, until its `session.closed` / `expired` / `revoked` entry. Only sessions in at least one
 * wanted group are kept. Feeds leave out sessions that are due but not yet swept (expires_ms ≤ now),
 * as the full read did; an idle session's expiry moves without an audit entry (`audit_refresh` is
 * off by default), so the state keeps the expiry it last saw, which is never later than the real one,
 * and the index asks Redis again for the sessions whose known expiry has passed (`takeExpiryChecks`).
 */

import { compareKeyed, keyedAddress, sortKeyed, type KeyedAddress } from '../body.js';
import { groupKey } from '../membership.js';
import { ExpiryHeap } from './expiry-heap.js';

interface TrackedSession {
  /** Wanted groups (`groupKey`), distinct. */
  readonly groups: readonly string[];
  /** Source and tunnel IP, distinct, non-empty. */
  readonly addresses: readonly string[];
  /** expires_ms as last seen; the stored one is never earlier (expiries only move forward). */
  knownExpiresMs: number;
  /** Found due (expires_ms ≤ now, or its hash gone) at the last check: counted in no feed. */
  due: boolean;
}

export interface GroupAddresses {
  /** Changes whenever the group's address set may have changed (also across index reloads). */
  readonly version: number;
  /** Distinct valid addresses in feed order (`sortAddresses`); never mutated: each version has its own array. */
  readonly addresses: readonly string[];
}

/** A group's addresses in feed order as of `version`, and the changes since (address → listed now). */
interface OrderedGroup {
  version: number;
  sorted: KeyedAddress[];
  addresses: GroupAddresses | undefined;
  readonly changes: Map<string, boolean>;
}

const OPENS = new Set(['session.opened', 'session.refreshed']);
const ENDS = new Set(['session.closed', 'session.expired', 'session.revoked']);

function parseGroups(json: string | undefined): string[] {
  if (!json) return [];
  try {
    const parsed: unknown = JSON.parse(json);
    return Array.isArray(parsed) ? parsed.filter((g): g is string => typeof g === 'string') : [];
  } catch {
    return [];
  }
}

export class GroupMembershipState {
  /** Id of the last audit entry applied (`0-0`: none; the stream was empty at load). */
  position = '0-0';
  /** Entries the stream had added up to `position` (XINFO `entries-added`): the gap check. */
  entriesAdded = 0;
  private readonly sessions = new Map<string, TrackedSession>();
  private readonly counts = new Map<string, Map<string, number>>();
  private readonly versions = new Map<string, number>();
  private readonly ordered = new Map<string, OrderedGroup>();
  private readonly heap = new ExpiryHeap();
  private readonly dueIds = new Set<string>();
  /** Lower-cased JSON of each wanted group name: skips most sessions' groups without parsing them. */
  private readonly needles: string[];

  constructor(
    readonly wanted: ReadonlySet<string>,
    private readonly nextVersion: () => number,
  ) {
    for (const group of wanted) {
      this.counts.set(group, new Map());
      this.versions.set(group, nextVersion());
    }
    this.needles = [...wanted].map((group) => JSON.stringify(group));
  }

  /** Sessions tracked (in a wanted group), due ones included. */
  get tracked(): number {
    return this.sessions.size;
  }

  /** Tracks or updates a session from its stored or audited fields; untracks it when in no wanted group. */
  upsert(id: string, groupsJson: string | undefined, ip: string | undefined, tunnelIp: string | undefined, expiresMs: number): void {
    const lowered = groupsJson?.toLowerCase() ?? '';
    const groups = this.needles.some((needle) => lowered.includes(needle))
      ? [...new Set(parseGroups(groupsJson).map(groupKey))].filter((group) => this.wanted.has(group))
      : [];
    if (groups.length === 0 || !Number.isFinite(expiresMs)) {
      this.remove(id);
      return;
    }
    const addresses = [...new Set([ip ?? '', tunnelIp ?? ''])].filter((address) => address !== '');
    const previous = this.sessions.get(id);
    if (previous) this.untrack(id, previous);
    const session: TrackedSession = { groups, addresses, knownExpiresMs: expiresMs, due: false };
    this.sessions.set(id, session);
    this.count(session, 1);
    this.schedule(expiresMs, id);
  }

  remove(id: string): void {
    const session = this.sessions.get(id);
    if (!session) return;
    this.untrack(id, session);
    this.sessions.delete(id);
  }

  /** Applies one audit entry (flat field list); entries other than session changes are ignored. */
  applyEntry(fields: readonly string[]): void {
    let action: string | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === 'event.action') {
        action = fields[i + 1];
        break;
      }
    }
    if (action === undefined || (!OPENS.has(action) && !ENDS.has(action))) return;
    const record = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) record.set(fields[i] as string, fields[i + 1] as string);
    const id = record.get('session.id');
    if (id === undefined) return;
    if (ENDS.has(action)) this.remove(id);
    else this.upsert(id, record.get('session.groups'), record.get('session.ip'), record.get('session.tunnel_ip'), Number(record.get('session.expires_ms')));
  }

  /**
   * Ids whose expiry must be read from Redis before a feed at `nowMs` is right: those whose known
   * expiry has passed, and those found due before (a refresh may have moved their expiry since).
   */
  takeExpiryChecks(nowMs: number): string[] {
    const ids = new Set(this.dueIds);
    for (let top = this.heap.peek(); top !== undefined && top.at <= nowMs; top = this.heap.peek()) {
      this.heap.pop();
      const session = this.sessions.get(top.id);
      if (session && !session.due && session.knownExpiresMs === top.at) ids.add(top.id);
    }
    return [...ids];
  }

  /** Puts back checks taken by `takeExpiryChecks` whose read failed. */
  retryExpiryChecks(ids: readonly string[]): void {
    for (const id of ids) {
      const session = this.sessions.get(id);
      if (session && !session.due) this.schedule(session.knownExpiresMs, id);
    }
  }

  /**
   * What Redis holds for a checked session: its expires_ms, or undefined when its hash is gone (its
   * audit entry is on its way, or was trimmed: the next reload drops it).
   */
  applyExpiryCheck(id: string, expiresMs: number | undefined, nowMs: number): void {
    const session = this.sessions.get(id);
    if (!session) return;
    if (expiresMs !== undefined && expiresMs > nowMs) {
      if (session.due) {
        session.due = false;
        this.dueIds.delete(id);
        this.count(session, 1);
      }
      session.knownExpiresMs = expiresMs;
      this.schedule(expiresMs, id);
    } else if (!session.due) {
      session.due = true;
      this.dueIds.add(id);
      this.count(session, -1);
    }
  }

  /**
   * The group's current addresses, in feed order (a group not indexed has none). The order is kept
   * up to date with the changes since the last call (a binary search and a splice each), so a
   * computation after a few logins does not sort the whole group again.
   */
  addresses(group: string): GroupAddresses {
    const version = this.versions.get(group) ?? 0;
    let ordered = this.ordered.get(group);
    if (ordered?.addresses && ordered.version === version) return ordered.addresses;
    if (!ordered || ordered.changes.size > ordered.sorted.length / 4) {
      // first call, or most of the group changed: one sort is cheaper than many splices
      ordered = { version, sorted: sortKeyed(this.counts.get(group)?.keys() ?? []), addresses: undefined, changes: new Map() };
      this.ordered.set(group, ordered);
    } else {
      for (const [address, listed] of ordered.changes) {
        const item = keyedAddress(address);
        if (!item) continue;
        const at = this.search(ordered.sorted, item);
        const present = at < ordered.sorted.length && compareKeyed(ordered.sorted[at] as KeyedAddress, item) === 0;
        if (listed && !present) ordered.sorted.splice(at, 0, item);
        else if (!listed && present) ordered.sorted.splice(at, 1);
      }
      ordered.changes.clear();
      ordered.version = version;
    }
    ordered.addresses = { version, addresses: ordered.sorted.map((item) => item.address) };
    return ordered.addresses;
  }

  /** Index of the first item not before `item` in `sorted`. */
  private search(sorted: readonly KeyedAddress[], item: KeyedAddress): number {
    let low = 0;
    let high = sorted.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (compareKeyed(sorted[middle] as KeyedAddress, item) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private untrack(id: string, session: TrackedSession): void {
    if (session.due) this.dueIds.delete(id);
    else this.count(session, -1);
  }

  /** Adds (1) or takes away (-1) a session's addresses; a group's version moves when an address comes or goes. */
  private count(session: TrackedSession, sign: 1 | -1): void {
    for (const group of session.groups) {
      const held = this.counts.get(group);
      if (!held) continue;
      const changes = this.ordered.get(group)?.changes;
      let changed = false;
      for (const address of session.addresses) {
        const count = (held.get(address) ?? 0) + sign;
        if (count <= 0) {
          held.delete(address);
          changes?.set(address, false);
          changed = true;
        } else {
          held.set(address, count);
          if (sign === 1 && count === 1) {
            changes?.set(address, true);
            changed = true;
          }
        }
      }
      if (changed) this.versions.set(group, this.nextVersion());
    }
  }

  /** Queues an expiry check; drops the stale entries (ended or re-timed sessions) when they pile up. */
  private schedule(expiresMs: number, id: string): void {
    this.heap.push(expiresMs, id);
    if (this.heap.size > 2 * this.sessions.size + 1024) this.compactHeap();
  }

  private compactHeap(): void {
    this.heap.clear();
    for (const [id, session] of this.sessions) if (!session.due) this.heap.push(session.knownExpiresMs, id);
  }
}
