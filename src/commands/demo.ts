import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { parsePipelineText } from '../config/load.js';
import { sendStream, sendUdp, splitLines } from '../demo/send.js';
import { packageRoot } from '../runtime/package-root.js';
import { connectRedis, resolveRedis } from '../runtime/redis.js';
import { createWorker } from '../runtime/worker.js';

export interface DemoOptions {
  readonly redisUrl?: string | undefined;
  readonly json: boolean;
  readonly logger: Logger;
  readonly print: (line: string) => void;
}

const DEMO_PIPELINE = `
redis:
  key_prefix: "PREFIX"
sources:
  demo_udp: { type: syslog, mode: udp, address: "127.0.0.1:0" }
  demo_tcp: { type: syslog, mode: tcp, address: "127.0.0.1:0" }
sinks:
  soc: { type: redis_streams }
`;

/**
 * `fortistream demo`: runs the worker on a private Redis (or --redis with its own key prefix), replays
 * the bundled sample over UDP and TCP (octet counting and LF framing), prints what landed, and exits.
 */
export async function demoCommand(options: DemoOptions): Promise<number> {
  const { logger, print } = options;
  const samples = join(packageRoot(), 'samples');
  const good = splitLines(readFileSync(join(samples, 'fortigate-sample.log')));
  const bad = splitLines(readFileSync(join(samples, 'fortigate-bad.log')));

  const choice = await resolveRedis({ optionUrl: options.redisUrl, envUrl: undefined, probeLocal: false, logger });
  // On a Redis we did not start, keep the demo's keys apart from real data.
  const prefix = choice.privateServer ? 'fortistream:' : `fortistream-demo-${Date.now()}:`;
  const pipeline = parsePipelineText(DEMO_PIPELINE.replace('PREFIX', prefix), '(demo pipeline)');
  const redis = await connectRedis(choice.url, 5000);
  const worker = createWorker({ pipeline, redis, redisUrl: choice.url, logger });
  try {
    await worker.start();
    const addresses = worker.addresses();
    const udp = addresses.demo_udp;
    const tcp = addresses.demo_tcp;
    if (!udp || !tcp) throw new Error('demo listeners did not bind');

    await sendUdp(udp.host, udp.port, good);
    await sendStream(tcp.host, tcp.port, good, 'octet');
    await sendStream(tcp.host, tcp.port, [...good, ...bad], 'lf');
    const expected = good.length * 3 + bad.length;

    const { events, dead } = worker.streams();
    const eventStream = events[0] as string;
    const deadStream = dead[0] as string;
    const deadline = Date.now() + 10_000;
    let landed = 0;
    while (Date.now() < deadline) {
      await worker.pipeline.flush();
      landed = (await redis.xlen(eventStream)) + (await redis.xlen(deadStream));
      if (landed >= expected) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const report = await summarize(redis, eventStream, deadStream, {
      sent: { udp: good.length, tcp_octet: good.length, tcp_lf: good.length + bad.length },
      redis: choice.origin === 'private' ? 'private redis-server (stopped on exit)' : 'given Redis, key prefix ' + prefix,
    });
    if (options.json) print(JSON.stringify(report, null, 2));
    else printReport(report, print);
    return landed >= expected ? 0 : 1;
  } finally {
    await worker.stop();
    await redis.quit().catch(() => redis.disconnect());
    if (choice.privateServer) await choice.privateServer.stop();
  }
}

interface DemoReport {
  redis: string;
  sent: Record<string, number>;
  streams: Record<string, number>;
  sample_events: Record<string, string>[];
  dead_letters: Record<string, string>[];
}

async function summarize(
  redis: Redis,
  eventStream: string,
  deadStream: string,
  head: { sent: Record<string, number>; redis: string },
): Promise<DemoReport> {
  const toObject = (fields: string[]): Record<string, string> => {
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i] as string] = fields[i + 1] as string;
    return out;
  };
  // Show a few different kinds of event rather than the first lines: one per category first
  // (authentication, network, …), then other type/action pairs.
  const all = (await redis.xrange(eventStream, '-', '+', 'COUNT', 500)).map(([, fields]) => toObject(fields));
  const firstEvents: Record<string, string>[] = [];
  const seen = new Set<string>();
  const pick = (kindOf: (e: Record<string, string>) => string): void => {
    for (const event of all) {
      if (firstEvents.length === 4) return;
      const kind = kindOf(event);
      if (seen.has(kind) || firstEvents.includes(event)) continue;
      seen.add(kind);
      firstEvents.push(event);
    }
  };
  pick((e) => `category:${e['event.category'] ?? '-'}`);
  pick((e) => `type:${e['fortinet.firewall.type'] ?? '-'}/${e['event.action'] ?? '-'}`);
  const deadLetters = (await redis.xrange(deadStream, '-', '+', 'COUNT', 20)).map(([, fields]) => toObject(fields));
  return {
    ...head,
    streams: { [eventStream]: await redis.xlen(eventStream), [deadStream]: await redis.xlen(deadStream) },
    sample_events: firstEvents,
    dead_letters: deadLetters,
  };
}

const SHOWN_FIELDS = [
  '@timestamp',
  'event.code',
  'event.action',
  'event.outcome',
  'event.category',
  'observer.name',
  'source.ip',
  'destination.ip',
  'destination.port',
  'user.name',
  'fortistream.source',
  'log.source.address',
];

function printReport(report: DemoReport, print: (line: string) => void): void {
  print(`Redis: ${report.redis}`);
  print(`Sent: ${Object.entries(report.sent).map(([k, v]) => `${v} lines over ${k}`).join(', ')}`);
  print('');
  print('Stream lengths:');
  for (const [stream, length] of Object.entries(report.streams)) print(`  ${stream}  ${length}`);
  print('');
  print('A few normalized events (selected fields):');
  for (const event of report.sample_events) {
    print('  {');
    for (const field of SHOWN_FIELDS) if (event[field] !== undefined) print(`    ${field}: ${event[field]}`);
    print(`    … ${Object.keys(event).length} fields in all`);
    print('  }');
  }
  print('');
  print('Dead letters (reason, source, raw):');
  for (const letter of report.dead_letters) {
    print(`  [${letter.code}] ${letter.reason} — ${letter.source} ${letter.peer}`);
    print(`      raw: ${(letter.raw ?? '').slice(0, 100)}`);
  }
}
