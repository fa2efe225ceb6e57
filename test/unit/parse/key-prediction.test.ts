import { describe, expect, it } from 'vitest';
import { getField, type FrameOrigin } from '../../../src/parse/event.js';
import { parseFrame } from '../../../src/parse/index.js';

/**
 * The key=value scanner predicts each key from the order of the previous line (see `matchKeyAt` in
 * collector.ts). A prediction may only ever save work: these lines break the learned order in the ways
 * that could fool a careless match (longer/shorter key with the same prefix, the key without `=`, the
 * key at the end of the frame) and must parse exactly as without a prediction.
 */
const origin: FrameOrigin = { source: 'test', peer: '192.0.2.1:514', receivedAtMs: Date.UTC(2025, 5, 1) };

function fields(line: string): Record<string, string> {
  const result = parseFrame(line, origin);
  if (!result.ok) throw new Error(`dead: ${result.code}`);
  const out: Record<string, string> = {};
  const f = result.event.fields;
  for (let i = 0; i < f.length; i += 2) out[f[i] as string] = f[i + 1] as string;
  return out;
}

describe('key prediction', () => {
  it('learns an order and still resolves keys that differ from the prediction', () => {
    const learned = 'srcip=10.0.0.1 srcport=1 dstip=10.0.0.2 dstport=2 action="accept" user="bob"';
    for (let i = 0; i < 3; i++) expect(fields(learned)['source.ip']).toBe('10.0.0.1');

    // Same prefix, longer key: `srcipx` is not `srcip`.
    const longer = fields('srcipx=10.9.9.9 srcport=1 dstip=10.0.0.2');
    expect(longer['source.ip']).toBeUndefined();
    expect(longer['fortinet.firewall.srcipx']).toBe('10.9.9.9');

    // Shorter key that is a prefix of the predicted one.
    fields(learned);
    const shorter = fields('srci=10.9.9.9 srcport=1');
    expect(shorter['source.ip']).toBeUndefined();
    expect(shorter['fortinet.firewall.srci']).toBe('10.9.9.9');

    // The predicted key without `=` is not a pair; the predicted key at the very end has no value.
    fields(learned);
    const noEquals = fields('srcip srcport=7 dstip');
    expect(noEquals['source.ip']).toBeUndefined();
    expect(noEquals['source.port']).toBe('7');
    expect(noEquals['destination.ip']).toBeUndefined();

    // Reordered keys, a sentinel value and a duplicate (first wins) after the learned order.
    fields(learned);
    const reordered = fields('dstip=10.0.0.2 srcip=N/A srcport=3 srcip=10.0.0.7 srcip=10.0.0.8');
    expect(reordered['destination.ip']).toBe('10.0.0.2');
    expect(reordered['source.ip']).toBe('10.0.0.7');
    expect(reordered['source.port']).toBe('3');
  });

  it('gives the same event for a line whether or not its order was learned', () => {
    const line =
      '<189>date=2025-06-01 time=10:31:00 devname="FGT" type="traffic" subtype="forward" srcip=10.1.1.1 ' +
      'srcport=5000 dstip=8.8.8.8 dstport=53 proto=17 action="accept" sentbyte=10 rcvdbyte=20 srcmac="aa:bb:cc:dd:ee:0f"';
    const first = parseFrame(line, origin);
    const again = parseFrame(line, origin);
    expect(again).toEqual(first);
    if (!again.ok) throw new Error('dead');
    expect(getField(again.event, 'network.bytes')).toBe('30');
    expect(getField(again.event, 'source.mac')).toBe('AA-BB-CC-DD-EE-0F');
    expect(getField(again.event, 'network.transport')).toBe('udp');
  });
});
