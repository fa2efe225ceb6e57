import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { runtimeSettingsSchema } from '../../../src/config/pipeline.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import type { Frame, Sink, SinkBatch, Source } from '../../../src/runtime/contracts.js';
import type { NormalizedEvent } from '../../../src/parse/event.js';
import { EventPipeline, isEncodedBatch, type EncodingSink, type SinkEncoder } from '../../../src/runtime/pipeline.js';

const LINE = '<189>date=2026-12-04 time=10:00:00 devname="fw1" devid="FGT60F0000000001" logid="0000000013" type="traffic" subtype="forward" srcip=10.0.0.1 dstip=10.0.0.2 action="accept"';

/** A sink that records batches and fails while `failures` > 0 (not Redis: this tests batching logic). */
class RecordingSink implements Sink {
  readonly name: string = 'recorder';
  readonly batches: SinkBatch[] = [];
  failures = 0;
  gate: Promise<void> | undefined;
  async write(batch: SinkBatch): Promise<void> {
    if (this.gate) await this.gate;
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('sink down');
    }
    this.batches.push(batch);
  }
  async close(): Promise<void> {}
  get events(): number {
    return this.batches.reduce((n, b) => n + b.events.length, 0);
  }
}

/** A sink that takes events as they arrive (like the Redis sink's RESP encoding): keeps their `event.code`. */
class EncodingRecorder extends RecordingSink implements EncodingSink {
  override readonly name = 'encoder';
  encoders = 0;
  encoder(): SinkEncoder & { codes: string[] } {
    this.encoders += 1;
    const codes: string[] = [];
    return {
      codes,
      add(event: NormalizedEvent): number {
        codes.push(event.fields[event.fields.indexOf('event.code') + 1] ?? '');
        return 100;
      },
    };
  }
  override get events(): number {
    return this.batches.reduce((n, b) => n + (isEncodedBatch(b) ? b.eventCount : b.events.length), 0);
  }
}

class PausableSource implements Source {
  readonly name = 'fake';
  paused = false;
  pauses = 0;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  pause(): void {
    this.paused = true;
    this.pauses += 1;
  }
  resume(): void {
    this.paused = false;
  }
  address(): undefined {
    return undefined;
  }
}

function frame(data = LINE): Frame {
  return { data: Buffer.from(data), source: 'fake', peer: '127.0.0.1:1', receivedAtMs: Date.now() };
}

function setup(overrides: Record<string, number> = {}) {
  const settings = runtimeSettingsSchema.parse({ batch_max_wait_ms: 5, retry_initial_ms: 10, retry_max_ms: 20, ...overrides });
  const sink = new RecordingSink();
  const metrics = createMetrics({ defaultMetrics: false });
  const pipeline = new EventPipeline({
    settings,
    sinks: [sink],
    logger: pino({ level: 'silent' }),
    parseMetrics: metrics.component('parse', 'fortigate'),
    bufferMetrics: metrics.component('buffer', 'memory'),
  });
  const source = new PausableSource();
  pipeline.attachSources([source]);
  return { pipeline, sink, source, metrics };
}

async function counter(metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return value?.value ?? 0;
}

describe('EventPipeline', () => {
  it('cuts batches at batch_max_events and writes the rest after batch_max_wait_ms', async () => {
    const { pipeline, sink } = setup({ batch_max_events: 10 });
    for (let i = 0; i < 25; i += 1) pipeline.accept(frame());
    await pipeline.flush();
    expect(sink.batches.map((b) => b.events.length)).toEqual([10, 10, 5]);
  });

  it('routes unparseable frames to dead letters with the parser reason', async () => {
    const { pipeline, sink, metrics } = setup();
    pipeline.accept(frame('no fields at all'));
    pipeline.accept(frame(''));
    pipeline.accept(frame());
    await pipeline.flush();
    const dead = sink.batches.flatMap((b) => b.dead);
    expect(dead.map((d) => d.code).sort()).toEqual(['empty', 'no_fields']);
    expect(dead.every((d) => d.stage === 'parse' && d.reason.length > 0)).toBe(true);
    expect(sink.events).toBe(1);
    expect(await counter(metrics, 'fortistream_component_dropped_events_total', { component: 'parse', reason: 'empty' })).toBe(1);
  });

  it('retries a failed write until it succeeds, losing nothing', async () => {
    const { pipeline, sink } = setup({ batch_max_events: 5 });
    sink.failures = 3;
    for (let i = 0; i < 12; i += 1) pipeline.accept(frame());
    await pipeline.flush();
    expect(sink.events).toBe(12);
  });

  it('pauses the sources while writes are stuck and resumes after', async () => {
    const { pipeline, sink, source } = setup({ batch_max_events: 1, max_in_flight_batches: 1 });
    let open!: () => void;
    sink.gate = new Promise((resolve) => {
      open = resolve;
    });
    for (let i = 0; i < 5; i += 1) pipeline.accept(frame());
    expect(source.paused).toBe(true);
    sink.gate = undefined;
    open();
    await pipeline.flush();
    expect(source.paused).toBe(false);
    expect(sink.events).toBe(5);
  });

  it('drops and counts UDP frames while the buffer is full, but never TCP frames', async () => {
    const { pipeline, sink, metrics } = setup({ buffer_max_bytes: 1 << 20, batch_max_events: 20_000, max_in_flight_batches: 1 });
    sink.failures = 1_000_000; // Redis "away": nothing is confirmed, the buffer fills up
    const big = `${LINE} msg="${'x'.repeat(60_000)}"`;
    for (let i = 0; i < 20; i += 1) pipeline.accept(frame(big));
    expect(pipeline.buffered).toBeGreaterThanOrEqual(1 << 20);
    pipeline.acceptOrDrop(frame());
    pipeline.acceptOrDrop(frame());
    expect(await counter(metrics, 'fortistream_component_dropped_events_total', { component: 'buffer', reason: 'buffer_full' })).toBe(2);
    sink.failures = 0;
    await pipeline.flush();
    expect(sink.events).toBe(20);
  });

  it('gives encoding sinks each event as it is parsed and keeps no event objects when every sink encodes', async () => {
    const settings = runtimeSettingsSchema.parse({ batch_max_wait_ms: 5, batch_max_events: 4 });
    const sink = new EncodingRecorder();
    const metrics = createMetrics({ defaultMetrics: false });
    const pipeline = new EventPipeline({
      settings,
      sinks: [sink],
      logger: pino({ level: 'silent' }),
      parseMetrics: metrics.component('parse', 'fortigate'),
      bufferMetrics: metrics.component('buffer', 'memory'),
    });
    for (let i = 0; i < 6; i += 1) pipeline.accept(frame());
    pipeline.accept(frame('no fields at all'));
    expect(pipeline.buffered).toBe(6 * 100 + 'no fields at all'.length);
    await pipeline.flush();
    expect(pipeline.buffered).toBe(0);
    expect(sink.batches.map((b) => (isEncodedBatch(b) ? [b.eventCount, b.events.length, b.dead.length] : 'plain'))).toEqual([
      [4, 0, 0],
      [2, 0, 1],
    ]);
    expect(sink.batches.flatMap((b) => (isEncodedBatch(b) ? (b.encoded as SinkEncoder & { codes: string[] }).codes : []))).toEqual(
      Array.from({ length: 6 }, () => '0000000013'),
    );
    expect(await counter(metrics, 'fortistream_component_received_events_total', { component: 'parse' })).toBe(7);
    expect(await counter(metrics, 'fortistream_component_sent_events_total', { component: 'parse' })).toBe(6);
  });

  it('keeps the events for a sink without an encoder next to one with, and retries only the failed sink', async () => {
    const settings = runtimeSettingsSchema.parse({ batch_max_wait_ms: 5, retry_initial_ms: 10, retry_max_ms: 20 });
    const plain = new RecordingSink();
    const encoding = new EncodingRecorder();
    encoding.failures = 2;
    const metrics = createMetrics({ defaultMetrics: false });
    const pipeline = new EventPipeline({
      settings,
      sinks: [plain, encoding],
      logger: pino({ level: 'silent' }),
      parseMetrics: metrics.component('parse', 'fortigate'),
      bufferMetrics: metrics.component('buffer', 'memory'),
    });
    for (let i = 0; i < 3; i += 1) pipeline.accept(frame());
    expect(pipeline.buffered).toBe(3 * (100 + 3 * Buffer.byteLength(LINE)));
    await pipeline.flush();
    expect(plain.events).toBe(3);
    expect(plain.batches.every((b) => !isEncodedBatch(b))).toBe(true);
    expect(encoding.events).toBe(3);
    expect(encoding.encoders).toBe(1);
  });

  it('drain gives up at the deadline, counts what it could not write, and says so', async () => {
    const { pipeline, sink, metrics } = setup();
    sink.failures = 1_000_000;
    pipeline.accept(frame());
    expect(await pipeline.drain(100)).toBe(false);
    expect(await counter(metrics, 'fortistream_component_dropped_events_total', { component: 'buffer', reason: 'shutdown_timeout' })).toBe(1);
  });
});
