import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { runtimeSettingsSchema } from '../../../src/config/pipeline.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import type { Frame, Sink, SinkBatch } from '../../../src/runtime/contracts.js';
import type { NormalizedEvent } from '../../../src/parse/event.js';
import { EventPipeline, isEncodedBatch, type EncodingSink, type SinkEncoder } from '../../../src/runtime/pipeline.js';

/** A numbered traffic line: `sessionid` carries the number. */
function line(n: number): string {
  return `<189>date=2026-12-04 time=10:00:00 devname="fw1" devid="FGT60F0000000001" logid="0000000013" type="traffic" subtype="forward" srcip=10.0.0.1 dstip=10.0.0.2 sessionid=${n} action="accept"`;
}

function frame(n: number): Frame {
  return { data: Buffer.from(line(n)), source: 'fake', peer: '127.0.0.1:1', receivedAtMs: Date.now() };
}

function numberOf(event: NormalizedEvent): number {
  const index = event.fields.findIndex((name, i) => i % 2 === 0 && name.endsWith('sessionid'));
  return Number(event.fields[index + 1]);
}

/**
 * Records, in write order, the numbers it was given (encoded as they arrive, like the Redis sink); a
 * write waits for `release()` while `held` (a slow Redis), so batches stay in flight.
 */
class NumberSink implements EncodingSink {
  readonly numbers: number[] = [];
  readonly log: string[];
  held = false;
  closed = false;
  private waiting: Array<() => void> = [];
  constructor(
    readonly name: string,
    log: string[],
  ) {
    this.log = log;
  }
  encoder(): SinkEncoder & { numbers: number[] } {
    const numbers: number[] = [];
    return {
      numbers,
      add(event: NormalizedEvent): number {
        numbers.push(numberOf(event));
        return 10;
      },
    };
  }
  async write(batch: SinkBatch): Promise<void> {
    if (this.held) await new Promise<void>((resolve) => this.waiting.push(resolve));
    const numbers = isEncodedBatch(batch) ? (batch.encoded as SinkEncoder & { numbers: number[] }).numbers : batch.events.map(numberOf);
    this.numbers.push(...numbers);
    this.log.push(`${this.name}:${numbers[0]}-${numbers[numbers.length - 1]}`);
  }
  release(): void {
    this.held = false;
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

function setup(sinks: Sink[]) {
  const settings = runtimeSettingsSchema.parse({ batch_max_events: 10, batch_max_wait_ms: 5, max_in_flight_batches: 4 });
  const metrics = createMetrics({ defaultMetrics: false });
  const pipeline = new EventPipeline({
    settings,
    sinks,
    logger: pino({ level: 'silent' }),
    parseMetrics: metrics.component('parse', 'fortigate'),
    bufferMetrics: metrics.component('buffer', 'memory'),
  });
  return { pipeline, settings };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('EventPipeline.reconfigure', () => {
  it('seals the open batch for the old sinks and sends every later event to the new ones, none twice', async () => {
    const log: string[] = [];
    const kept = new NumberSink('kept', log);
    const removed = new NumberSink('removed', log);
    const added = new NumberSink('added', log);
    const { pipeline } = setup([kept, removed]);
    for (let n = 1; n <= 25; n += 1) pipeline.accept(frame(n)); // two full batches and 5 in the open one
    const drained = pipeline.reconfigure({ sinks: [kept, added] });
    for (let n = 26; n <= 40; n += 1) pipeline.accept(frame(n));
    await drained;
    await pipeline.flush();
    expect(kept.numbers).toEqual(range(1, 40));
    expect(removed.numbers).toEqual(range(1, 25));
    expect(added.numbers).toEqual(range(26, 40));
  });

  it('writes no batch for the new sinks before every earlier batch was confirmed, and resolves only then', async () => {
    const log: string[] = [];
    const old = new NumberSink('old', log);
    const fresh = new NumberSink('new', log);
    const { pipeline } = setup([old]);
    old.held = true; // Redis is slow: the first batches stay in flight
    for (let n = 1; n <= 20; n += 1) pipeline.accept(frame(n));
    let drained = false;
    const done = pipeline.reconfigure({ sinks: [fresh] }).then(() => {
      drained = true;
    });
    for (let n = 21; n <= 30; n += 1) pipeline.accept(frame(n));
    await new Promise((r) => setTimeout(r, 50));
    // The new sink's batch is ready but waits behind the old sink's unconfirmed ones.
    expect(fresh.numbers).toEqual([]);
    expect(drained).toBe(false);
    old.release();
    await done;
    await pipeline.flush();
    expect(old.numbers).toEqual(range(1, 20));
    expect(fresh.numbers).toEqual(range(21, 30));
    expect(log.indexOf('new:21-30')).toBeGreaterThan(log.indexOf('old:11-20'));
  });

  it('resolves at once when nothing is buffered, and applies new settings to later batches', async () => {
    const log: string[] = [];
    const sink = new NumberSink('only', log);
    const { pipeline, settings } = setup([sink]);
    await pipeline.reconfigure({ sinks: [sink], settings: { ...settings, batch_max_events: 3 } });
    for (let n = 1; n <= 6; n += 1) pipeline.accept(frame(n));
    await pipeline.flush();
    expect(log).toEqual(['only:1-3', 'only:4-6']);
  });

  it('keeps the order of batches across several quick reconfigures', async () => {
    const log: string[] = [];
    const sinks = [new NumberSink('a', log), new NumberSink('b', log), new NumberSink('c', log)];
    const { pipeline } = setup([sinks[0] as Sink]);
    (sinks[0] as NumberSink).held = true;
    for (let n = 1; n <= 5; n += 1) pipeline.accept(frame(n));
    const first = pipeline.reconfigure({ sinks: [sinks[1] as Sink] });
    for (let n = 6; n <= 10; n += 1) pipeline.accept(frame(n));
    const second = pipeline.reconfigure({ sinks: [sinks[2] as Sink] });
    for (let n = 11; n <= 15; n += 1) pipeline.accept(frame(n));
    (sinks[0] as NumberSink).release();
    await Promise.all([first, second]);
    await pipeline.flush();
    expect(log).toEqual(['a:1-5', 'b:6-10', 'c:11-15']);
  });
});
