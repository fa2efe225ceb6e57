import { describe, expect, it } from 'vitest';
import { sortAddresses } from '../../../src/feeds/body.js';
import { GroupMembershipState } from '../../../src/feeds/group-index/state.js';

function stateOf(groups: string[]): GroupMembershipState {
  let version = 0;
  return new GroupMembershipState(new Set(groups), () => (version += 1));
}

const entry = (action: string, id: string, fields: Record<string, string> = {}): string[] => [
  'event.action',
  action,
  'session.id',
  id,
  ...Object.entries(fields).flat(),
];

describe('group membership state', () => {
  it('counts sessions per address: a version moves only when an address comes or goes', () => {
    const state = stateOf(['finance', 'staff']);
    const v0 = state.addresses('finance').version;
    state.upsert('a', '["Finance","staff"]', '10.0.0.1', undefined, 5000);
    const v1 = state.addresses('finance');
    expect(v1.version).not.toBe(v0);
    expect(v1.addresses).toEqual(['10.0.0.1']);
    // a second session at the same address: nothing changes for the feed
    state.upsert('b', '["FINANCE"]', '10.0.0.1', '', 5000);
    expect(state.addresses('finance')).toBe(v1);
    state.remove('a');
    expect(state.addresses('finance')).toBe(v1);
    expect(state.addresses('staff').addresses).toEqual([]);
    state.remove('b');
    expect(state.addresses('finance').addresses).toEqual([]);
    expect(state.addresses('finance').version).not.toBe(v1.version);
    // groups outside the index, malformed JSON and a missing expiry are not tracked
    state.upsert('c', '["other"]', '10.0.0.3', undefined, 5000);
    state.upsert('d', '["finance"', '10.0.0.4', undefined, 5000);
    state.upsert('e', '["finance"]', '10.0.0.5', undefined, Number.NaN);
    expect(state.tracked).toBe(0);
  });

  it('applies audit entries: opens and refreshes track, closes, expiries and revocations untrack, others are ignored', () => {
    const state = stateOf(['finance']);
    state.applyEntry(entry('session.opened', 's1', { 'session.groups': '["Finance"]', 'session.ip': '198.51.100.1', 'session.tunnel_ip': '10.212.0.1', 'session.expires_ms': '9000' }));
    state.applyEntry(entry('session.opened', 's2', { 'session.groups': '["finance"]', 'session.ip': '10.0.0.2', 'session.expires_ms': '9000' }));
    state.applyEntry(['event.action', 'list.added', 'list.name', 'blocked', 'list.address', '203.0.113.1']);
    expect([...state.addresses('finance').addresses].sort()).toEqual(['10.0.0.2', '10.212.0.1', '198.51.100.1']);
    // a refresh entry restates the session: here with other groups (the index follows what it says)
    state.applyEntry(entry('session.refreshed', 's2', { 'session.groups': '["staff"]', 'session.ip': '10.0.0.2', 'session.expires_ms': '9500' }));
    state.applyEntry(entry('session.revoked', 's1'));
    state.applyEntry(entry('session.expired', 'unknown'));
    expect(state.addresses('finance').addresses).toEqual([]);
    expect(state.tracked).toBe(0);
  });

  it('keeps each group in feed order through small and large changes, leaving out what is not an address', () => {
    const state = stateOf(['finance']);
    const pool = Array.from({ length: 300 }, (_, i) => (i % 7 === 0 ? `2001:db8::${i.toString(16)}` : `10.${i % 3}.${i % 11}.${i}`));
    pool.push('not-an-address');
    const live = new Map<string, string>();
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let step = 0; step < 400; step += 1) {
      // mostly a few changes between reads (splices), sometimes many (a full sort)
      const changes = step % 50 === 0 ? 150 : 1 + Math.floor(next() * 4);
      for (let c = 0; c < changes; c += 1) {
        const id = `s${Math.floor(next() * 200)}`;
        if (live.has(id)) {
          state.remove(id);
          live.delete(id);
        } else {
          const address = pool[Math.floor(next() * pool.length)] as string;
          state.upsert(id, '["finance"]', address, undefined, 10_000);
          live.set(id, address);
        }
      }
      const expected = sortAddresses(live.values());
      expect(state.addresses('finance').addresses, `step ${step}`).toEqual(expected);
    }
  });

  it('asks for the sessions whose known expiry passed, soonest first, and keeps due ones out until told otherwise', () => {
    const state = stateOf(['finance']);
    const expiries = new Map<string, number>();
    for (let i = 0; i < 200; i += 1) {
      const expiresMs = 1000 + ((i * 7919) % 1000);
      expiries.set(`s${i}`, expiresMs);
      state.upsert(`s${i}`, '["finance"]', `10.0.${i >> 8}.${i & 255}`, undefined, expiresMs);
    }
    // the same session re-timed many times leaves stale queue entries behind, never extra checks
    for (let round = 0; round < 50; round += 1) state.upsert('s0', '["finance"]', '10.0.0.0', undefined, 1000 + round);
    expiries.set('s0', 1049);
    const due = state.takeExpiryChecks(1500).sort();
    expect(due).toEqual([...expiries].filter(([, at]) => at <= 1500).map(([id]) => id).sort());
    expect(state.takeExpiryChecks(1500)).toEqual([]);
    // Redis says: s0 was extended, the others are due
    for (const id of due) state.applyExpiryCheck(id, id === 's0' ? 3000 : 1200, 1500);
    expect(state.addresses('finance').addresses).toHaveLength(200 - due.length + 1);
    // due sessions are asked about again each time (a refresh may still move them)
    const again = state.takeExpiryChecks(1600);
    expect(again).toHaveLength(due.length - 1 + [...expiries.values()].filter((at) => at > 1500 && at <= 1600).length);
    const revived = due.find((id) => id !== 's0') ?? '';
    const address = `10.0.0.${revived.slice(1)}`;
    expect(state.addresses('finance').addresses).not.toContain(address);
    state.applyExpiryCheck(revived, 4000, 1600);
    expect(state.addresses('finance').addresses).toContain(address);
  });
});
