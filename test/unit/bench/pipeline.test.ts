import { describe, expect, it } from 'vitest';
import { BENCH_SOURCE, buildBenchPipeline } from '../../../src/bench/pipeline.js';
import { loadPipelineFile, parsePipelineText } from '../../../src/config/load.js';

const FULL = `
redis: { url: "redis://10.9.9.9:6379", key_prefix: "prod:" }
spool: { dir: /var/lib/fortistream/spool }
api: { address: "0.0.0.0:8080", tokens_file: /etc/fortistream/tokens.yaml }
sources:
  udp_in: { type: syslog, mode: udp, address: "0.0.0.0:5514" }
  tcp_in: { type: syslog, mode: tcp, address: "0.0.0.0:5514", allow_from: ["10.0.0.0/8"] }
sinks:
  soc: { type: redis_streams, stream: "all:events", max_len: 1000, dead_letter_stream: "all:dead", dead_letter_max_len: 10 }
counters:
  - name: failed_per_ip
    when: { event.code: "0102043009", user.name: "lit$\${eral}" }
    key: [source.ip]
    window_seconds: 60
    bucket_seconds: 10
    threshold: 5
    action: { type: ban-ip, seconds: 600 }
devices:
  fgt_hq: { base_url: "https://10.0.0.1", token_env: FGT_TOKEN }
feeds:
  blocked: { type: list, list: blocked }
profiles:
  agent: { type: agent, keyring: { env: AGENT_KEYRING } }
`;

describe('bench pipeline', () => {
  it('without --pipeline: one TCP source on 127.0.0.1:0 and one sink, under the unique prefix', () => {
    const built = buildBenchPipeline({ base: undefined, prefix: 'fortistream-bench-00ff00ff:', events: 2_000_000, spoolDir: '/tmp/x/spool' });
    const pipeline = parsePipelineText(built.yaml, 'bench.yaml');
    expect(pipeline.sources).toEqual({ [BENCH_SOURCE]: expect.objectContaining({ mode: 'tcp', address: '127.0.0.1:0' }) });
    expect(Object.keys(pipeline.sinks)).toEqual(['soc']);
    expect(pipeline.sinks.soc?.max_len).toBe(2_000_000);
    expect(pipeline.redis.key_prefix).toBe('fortistream-bench-00ff00ff:');
    expect(pipeline.redis.url).toBeUndefined();
    expect(built.streams).toEqual({ events: 'fortistream-bench-00ff00ff:events:soc', dead: 'fortistream-bench-00ff00ff:dead' });
  });

  it("keeps what costs in the user's pipeline and leaves out what reaches outside or collides with a running worker", () => {
    const base = parsePipelineText(FULL, 'full.yaml');
    const built = buildBenchPipeline({ base, prefix: 'fortistream-bench-12345678:', events: 5000, spoolDir: '/tmp/bench-dir/spool' });
    const pipeline = parsePipelineText(built.yaml, 'bench.yaml', { env: {} });
    expect(Object.keys(pipeline.sources)).toEqual([BENCH_SOURCE]);
    expect(pipeline.sources[BENCH_SOURCE]?.allow_from).toEqual([]);
    expect(pipeline.redis).toMatchObject({ key_prefix: 'fortistream-bench-12345678:' });
    expect(pipeline.redis.url).toBeUndefined();
    expect(pipeline.api).toBeUndefined();
    expect(pipeline.devices).toBeUndefined();
    expect(pipeline.actions).toBeUndefined();
    expect(pipeline.feeds).toBeUndefined();
    expect(pipeline.spool?.dir).toBe('/tmp/bench-dir/spool');
    // Counters still count (and alert), but no ban reaches a FortiGate.
    expect(pipeline.counters?.map((c) => [c.name, c.threshold, c.action])).toEqual([['failed_per_ip', 5, undefined]]);
    // Caps raised so every entry can be counted; stream names kept (under the bench's prefix).
    expect(pipeline.sinks.soc).toMatchObject({ stream: 'all:events', max_len: 5000, dead_letter_stream: 'all:dead', dead_letter_max_len: 5000 });
    expect(built.streams).toEqual({ events: 'fortistream-bench-12345678:all:events', dead: 'fortistream-bench-12345678:all:dead' });
    expect(pipeline.profiles.agent?.keyring).toEqual({ env: 'AGENT_KEYRING' });
    // A literal `${` (written `$${` in the user's file) stays literal when the bench file is read again.
    expect(pipeline.counters?.[0]?.when).toEqual(base.counters?.[0]?.when);
    expect(JSON.stringify(pipeline.counters?.[0]?.when)).toContain('lit${eral}');
  });

  it('round-trips the shipped default pipeline (sessions, counters) unchanged but for sources and prefix', () => {
    const { pipeline: base } = loadPipelineFile('pipelines/default.yaml', { env: {} });
    const built = buildBenchPipeline({ base, prefix: 'fortistream-bench-aabbccdd:', events: 1000, spoolDir: '/tmp/s' });
    const pipeline = parsePipelineText(built.yaml, 'bench.yaml', { env: {} });
    expect(pipeline.sessions).toEqual(base.sessions);
    expect(pipeline.counters).toEqual(base.counters);
    expect(pipeline.sinks).toEqual(base.sinks);
    expect(pipeline.pipeline).toEqual(base.pipeline);
  });
});
