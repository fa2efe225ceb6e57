import { describe, expect, it } from 'vitest';
import type { NormalizedEvent } from '../../../src/parse/index.js';
import type { SinkBatch } from '../../../src/runtime/contracts.js';
import { createAlertProjection, type KeyringHandle } from '../../../src/runtime/profiles.js';
import { compileProfile } from '../../../src/sanitize/profiles.js';
import { pseudonymize, type Keyring } from '../../../src/sanitize/pseudonymize.js';
import { createCounterStore } from '../../../src/state/counters.js';
import { uniquePrefix } from '../../support/redis.js';
import { failedVpnLogin, testStateStage, useTestRedis } from '../../support/state-stage.js';

const T0 = Date.now() - 60_000;
const HQ = { name: 'fw-hq', serial: 'FGT60FHQ00000001' };
const failedLogin = (atMs: number, ip: string): NormalizedEvent => failedVpnLogin(atMs, ip, HQ);
const uniqueStream = (): string => uniquePrefix('profile-alerts');

/** A batch as the pipeline hands it over: its events' frame sequences stay the same on every retry. */
function sequenced(events: NormalizedEvent[], firstSeq: number): SinkBatch {
  const eventSeqs = events.map((_, i) => firstSeq + i);
  return { events, dead: [], eventSeqs, firstSeq, lastSeq: firstSeq + events.length - 1 };
}

describe('state stage: threshold alerts survive a failed write', () => {
  const redis = useTestRedis();
  const counters = [
    { name: 'vpn_failed_by_ip', when: { 'event.code': '0101039426' }, key: ['source.ip'], window_seconds: 300, bucket_seconds: 10, threshold: 3 },
  ];

  it('raises the alert on the retry of a batch whose alert XADD failed, once, with a stable id', async () => {
    // With a writer, batches carrying sequences are applied once (as in the worker).
    const { stage: state, alertsStream, prefix } = testStateStage(redis(), counters, { writer: 'events' });
    const batch = sequenced([0, 1, 2, 3].map((i) => failedLogin(T0 + i * 100, '203.0.113.50')), 1000);
    // The alerts stream cannot take the entry (a key of another type): the counters apply, the XADD fails.
    await redis().set(alertsStream, 'not a stream');
    await expect(state.write(batch)).rejects.toThrow(/WRONGTYPE/);
    await redis().del(alertsStream);
    // The pipeline retries the same batch: nothing is counted twice, the alert is written now.
    await state.write(batch);
    const entries = await redis().xrange(alertsStream, '-', '+');
    expect(entries).toHaveLength(1);
    const fields = Object.fromEntries(
      (entries[0]?.[1] ?? []).reduce<[string, string][]>((pairs, value, i, all) => (i % 2 === 0 ? [...pairs, [value, all[i + 1] as string]] : pairs), []),
    );
    expect(fields).toMatchObject({
      'fortistream.counter': 'vpn_failed_by_ip',
      'fortistream.counter_key': '203.0.113.50',
      'fortistream.value': '4',
      'fortistream.alert_id': expect.stringMatching(/^vpn_failed_by_ip\|203\.0\.113\.50\|\d+$/),
    });
    // The retry counted nothing twice.
    const spec = { name: 'vpn_failed_by_ip', windowSeconds: 300, bucketSeconds: 10, threshold: 3 };
    expect((await createCounterStore(redis(), { prefix }).read(spec, '203.0.113.50', T0 + 1000)).value).toBe(4);
    // Written and confirmed: another retry, and more events in the same window, raise nothing more.
    await state.write(batch);
    await state.write(sequenced([failedLogin(T0 + 900, '203.0.113.50')], 2000));
    expect(await redis().xlen(alertsStream)).toBe(1);
  });

  it('writes each alert, pseudonymized, to the streams of the profiles that carry alerts', async () => {
    const keys: Keyring = { current: 'k1', keys: new Map([['k1', { secret: Buffer.alloc(32, 9) }]]) };
    const handle: KeyringHandle = { origin: 'test', current: () => keys, reload: async () => undefined, close: () => undefined };
    const streamBase = `${uniqueStream()}events:agent`;
    const agent = compileProfile('agent', { type: 'agent', keyring: '/unused', stream: streamBase, alerts: true });
    const projection = createAlertProjection(agent, handle);
    expect(projection?.stream).toBe(`${streamBase}:alerts`);
    const { stage: state, alertsStream } = testStateStage(redis(), counters, {
      alertProjections: projection ? [projection] : [],
      counterKeyFields: new Map([['vpn_failed_by_ip', ['source.ip']]]),
    });
    await state.write({ events: [0, 1, 2].map((i) => failedLogin(T0 + i * 100, '203.0.113.61')), dead: [] });
    expect(await redis().xlen(alertsStream)).toBe(1);
    const rows = await redis().xrange(`${streamBase}:alerts`, '-', '+');
    expect(rows).toHaveLength(1);
    const fields = rows[0]?.[1] ?? [];
    const entry: Record<string, string> = {};
    for (let i = 0; i < fields.length; i += 2) entry[fields[i] as string] = fields[i + 1] as string;
    expect(entry).toMatchObject({ 'event.kind': 'alert', 'fortistream.counter': 'vpn_failed_by_ip', 'fortistream.value': '3' });
    expect(entry['source.ip.pseudonym']).toBe(pseudonymize(keys, 'ip', '203.0.113.61'));
    expect(fields.join(' ')).not.toContain('203.0.113.61');
  });
});
