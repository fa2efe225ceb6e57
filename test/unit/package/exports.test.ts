import { describe, expect, it } from 'vitest';
import * as api from '../../../src/index.js';

describe('package entry', () => {
  it('exports the consumer kit, the session reader and the parser', () => {
    expect(typeof api.createStreamConsumer).toBe('function');
    expect(typeof api.createSessionReader).toBe('function');
    expect(typeof api.createCounterStore).toBe('function');
    const parsed = api.parseFrame('<189>logid="0000000013" type="traffic" srcip=10.0.0.1', { source: 's', peer: 'p', receivedAtMs: 0 });
    expect(parsed.ok && api.getField(parsed.event, 'source.ip')).toBe('10.0.0.1');
  });
});
