import { loadPipelineFile } from '../config/load.js';
import { isFortistreamError } from '../errors.js';

/** `fortistream check FILE`: prints every problem (file: key.path: expectation); returns the exit code. */
export function checkCommand(file: string, out: (line: string) => void, err: (line: string) => void): number {
  try {
    const { pipeline } = loadPipelineFile(file);
    const sources = Object.entries(pipeline.sources).map(([name, s]) => `${name} (${s.type} ${s.mode} ${s.address})`);
    const sinks = Object.entries(pipeline.sinks).map(([name, s]) => `${name} (${s.type} → ${pipeline.redis.key_prefix}${s.stream})`);
    out(`${file}: ok`);
    out(`  sources: ${sources.join(', ')}`);
    out(`  sinks: ${sinks.join(', ')}`);
    if (pipeline.sessions) out(`  sessions: ${pipeline.sessions.rules.length} rule(s), default timeout ${pipeline.sessions.timeout.type} ${pipeline.sessions.timeout.seconds}s`);
    if (pipeline.counters) out(`  counters: ${pipeline.counters.map((c) => c.name).join(', ')}`);
    if (pipeline.feeds) {
      const feeds = Object.entries(pipeline.feeds).map(([name, f]) => `${name} (${f.type} ${f.type === 'group' ? f.group : f.list}${f.push ? ` → push ${f.push.device}/${f.push.connector}` : ''})`);
      out(`  feeds: ${feeds.join(', ')}`);
    }
    return 0;
  } catch (error) {
    if (isFortistreamError(error)) {
      err(`${error.code}: ${error.message}`);
      for (const line of error.details) err(`  ${line}`);
      return error.exitCode;
    }
    throw error;
  }
}
