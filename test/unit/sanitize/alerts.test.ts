import { describe, expect, it } from 'vitest';
import { compileProfile, profileSettingsSchema, projectAlert, projectEvent } from '../../../src/sanitize/profiles.js';
import type { CounterAlert } from '../../../src/state/counters.js';
import { createPseudonymizer, type Keyring } from '../../../src/sanitize/pseudonymize.js';

const agentKeys: Keyring = { current: 'a1', keys: new Map([['a1', { secret: Buffer.alloc(32, 6) }]]) };
const agent = compileProfile('agent', { type: 'agent', keyring: '/k', stream: 'fortistream:events:agent', alerts: true });
const ml = compileProfile('ml', { type: 'ml', keyring: '/k' });
const ctx = { keyring: agentKeys, pseudonymizer: createPseudonymizer() };
const NOW = Date.UTC(2026, 11, 5, 12, 0, 0);

function alert(counter: string, key: string): CounterAlert {
  return {
    counter,
    key,
    value: 7,
    threshold: 5,
    windowSeconds: 300,
    windowStartMs: NOW - 300_000,
    windowEndMs: NOW,
    firstEventMs: NOW - 200_000,
    lastEventMs: NOW - 1000,
  };
}

function asObject(fields: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) out[fields[i] as string] = fields[i + 1] as string;
  return out;
}

/** The profile's event projection of the same identities (what the alert must join with). */
function eventPseudonyms(fields: string[]): Record<string, string> {
  return asObject(projectEvent({ fields, timeMs: NOW }, agent, ctx));
}

describe('alerts for ml/agent profiles', () => {
  it('carries the figures and the key as the pseudonyms the profile gives the same user in events, never the raw key', () => {
    const out = projectAlert(alert('failed_logins_per_user', 'mallory'), ['user.name'], agent, ctx, NOW);
    const entry = asObject(out);
    expect(entry).toMatchObject({
      'event.kind': 'alert',
      'event.action': 'threshold-crossed',
      'fortistream.counter': 'failed_logins_per_user',
      'fortistream.value': '7',
      'fortistream.threshold': '5',
      'fortistream.window_seconds': '300',
      'fortistream.window_end': new Date(NOW).toISOString(),
    });
    expect(entry['user.pseudonym']).toBe(eventPseudonyms(['user.name', 'mallory'])['user.pseudonym']);
    expect(entry['user.pseudonym']).toMatch(/^a1:/);
    expect(out.join('\n').toLowerCase()).not.toContain('mallory');
    expect(entry['fortistream.alert_id']).toMatch(/^failed_logins_per_user\|a1:[\w-]+\|\d+$/);
    // The same alert raised again (at least once) has the same id.
    expect(asObject(projectAlert(alert('failed_logins_per_user', 'mallory'), ['user.name'], agent, ctx, NOW + 5000))['fortistream.alert_id']).toBe(
      entry['fortistream.alert_id'],
    );
  });

  it('projects address keys and keys of several fields, and leaves out what it cannot split', () => {
    const byIp = asObject(projectAlert(alert('denied_traffic_per_ip', '203.0.113.7'), ['source.ip'], agent, ctx, NOW));
    const fromEvent = eventPseudonyms(['source.ip', '203.0.113.7']);
    expect(byIp['source.ip.pseudonym']).toBe(fromEvent['source.ip.pseudonym']);
    expect(byIp['source.network.pseudonym']).toBe(fromEvent['source.network.pseudonym']);
    expect(Object.values(byIp).join(' ')).not.toContain('203.0.113');

    const both = asObject(projectAlert(alert('pair', '198.51.100.4|alice'), ['source.ip', 'user.name'], agent, ctx, NOW));
    expect(both['source.ip.pseudonym']).toBeDefined();
    expect(both['user.pseudonym']).toBe(eventPseudonyms(['user.name', 'alice'])['user.pseudonym']);

    // A user name with `|` in a two-field key: the parts cannot be told apart, so no key field at all.
    const ambiguous = projectAlert(alert('pair', '198.51.100.4|bob|ops'), ['source.ip', 'user.name'], agent, ctx, NOW);
    expect(ambiguous.filter((_, i) => i % 2 === 0).some((name) => name.endsWith('.pseudonym'))).toBe(false);
    expect(ambiguous.join(' ')).not.toContain('bob');
    expect(ambiguous.join(' ')).not.toContain('198.51.100');
  });

  it('is declared per profile: <stream>:alerts for ml/agent, refused for soc', () => {
    expect(agent.alertsStream).toBe('fortistream:events:agent:alerts');
    expect(ml.alertsStream).toBeUndefined();
    const soc = profileSettingsSchema.safeParse({ type: 'soc', alerts: true });
    expect(soc.success).toBe(false);
    expect(JSON.stringify(soc.error?.issues)).toContain('alerts: true is for ml and agent profiles');
  });
});
