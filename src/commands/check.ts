import { loadPipelineFile } from '../config/load.js';
import { findPipelineTests, loadPipelineTests, runPipelineTests } from '../config/pipeline-tests.js';
import { ERROR_CATALOG, isFortistreamError } from '../errors.js';

export interface CheckOptions {
  /** A pipeline test file to run; default the `<file>.test.yaml` beside the pipeline, when there is one. */
  readonly testsFile?: string | undefined;
  /** false: validate only (`--no-tests`). */
  readonly tests?: boolean;
}

/**
 * `fortistream check FILE`: prints every problem (file: key.path: expectation), then runs the
 * pipeline's test cases (config/pipeline-tests.ts); returns the exit code.
 */
export function checkCommand(file: string, out: (line: string) => void, err: (line: string) => void, options: CheckOptions = {}): number {
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
    const testsFile = options.tests === false ? undefined : (options.testsFile ?? findPipelineTests(file));
    if (testsFile === undefined) return 0;
    const results = runPipelineTests(pipeline, loadPipelineTests(testsFile));
    const failed = results.filter((result) => result.failures.length > 0);
    for (const result of results) {
      if (result.failures.length === 0) {
        out(`  ok    ${result.name}`);
      } else {
        err(`  FAIL  ${result.name}`);
        for (const failure of result.failures) err(`          ${failure}`);
      }
    }
    out(`${testsFile}: ${results.length - failed.length} passed, ${failed.length} failed`);
    return failed.length === 0 ? 0 : ERROR_CATALOG.FST_PIPELINE_TEST_FAILED.exit;
  } catch (error) {
    if (isFortistreamError(error)) {
      err(`${error.code}: ${error.message}`);
      for (const line of error.details) err(`  ${line}`);
      return error.exitCode;
    }
    throw error;
  }
}
