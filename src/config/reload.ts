/**
 * Pipeline hot reload: on a change of the pipeline file (its directory is watched, so editors and
 * ConfigMaps that replace the file by rename are seen too) or on request (SIGHUP), the file is loaded
 * and validated exactly as at start (same command-line overrides), then handed to `apply`, which
 * switches what changed. An invalid file changes nothing: the reason is logged, with one line per
 * problem (`file: key.path: what was expected`, as `fortistream check` prints).
 *
 * Every reload logs one info line with what changed and counts `fortistream_reloads_total{result}`.
 * Reloads run one at a time; requests that arrive while one waits to run share it.
 */

import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import { FortistreamError, errorMessage, isFortistreamError } from '../errors.js';
import { summarizeDiff, type DiffSummary, type PipelineDiff } from './diff.js';
import { parsePipelineText } from './load.js';
import type { PipelineOverrides } from './overrides.js';
import type { PipelineFile } from './pipeline.js';

export type ReloadTrigger = 'file' | 'signal' | 'request';
export type ReloadResult = 'applied' | 'rejected' | 'unchanged';

/** What `apply` reports (a running worker's `reconfigure` fits). */
export interface ReloadApplyResult {
  readonly diff: PipelineDiff;
  readonly applied: boolean;
  /** Parts refused while the rest was applied. */
  readonly problems: readonly string[];
}

export interface ReloadOutcome {
  readonly trigger: ReloadTrigger;
  readonly result: ReloadResult;
  /** What changed (applied or unchanged). */
  readonly changes?: DiffSummary;
  /** Why it was rejected, or which parts were refused: one line each. */
  readonly problems: readonly string[];
}

export interface PipelineReloaderOptions {
  readonly file: string;
  readonly overrides?: PipelineOverrides;
  readonly env?: NodeJS.ProcessEnv;
  readonly logger: Logger;
  /** `fortistream_reloads_total` (`Metrics.reloads`). */
  readonly reloads: { inc(labels: { result: ReloadResult }): void };
  /** Switches to the validated pipeline; throws (nothing changed) when it cannot. */
  readonly apply: (next: Readonly<PipelineFile>) => Promise<ReloadApplyResult>;
  /** Watch the file (default true); SIGHUP / `reload()` work either way. */
  readonly watch?: boolean;
  /** Quiet time after the last change event before reloading (default 300 ms): editors write in steps. */
  readonly debounceMs?: number;
}

export interface PipelineReloader {
  reload(trigger: ReloadTrigger): Promise<ReloadOutcome>;
  close(): void;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function createPipelineReloader(options: PipelineReloaderOptions): PipelineReloader {
  const { file, logger } = options;
  const debounceMs = options.debounceMs ?? 300;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<unknown> = Promise.resolve();
  let pending: Promise<ReloadOutcome> | undefined;
  /** Digest of the last file that was applied or found unchanged: a file event with the same bytes is not a change. */
  let settledDigest: string | undefined;

  const finish = (outcome: ReloadOutcome): ReloadOutcome => {
    options.reloads.inc({ result: outcome.result });
    return outcome;
  };

  const reject = (trigger: ReloadTrigger, error: unknown): ReloadOutcome => {
    const problems = isFortistreamError(error) && error.details.length > 0 ? [...error.details] : [errorMessage(error)];
    logger.warn(
      { trigger, file, result: 'rejected', code: isFortistreamError(error) ? error.code : undefined, reason: errorMessage(error), problems },
      'pipeline reload rejected; the running pipeline stays in force',
    );
    return finish({ trigger, result: 'rejected', problems });
  };

  const run = async (trigger: ReloadTrigger): Promise<ReloadOutcome | undefined> => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      return reject(trigger, new FortistreamError('FST_CONFIG_UNREADABLE', `cannot read pipeline file ${file}: ${errorMessage(error)}`));
    }
    const textDigest = digest(text);
    // A file event without new bytes (touch, an editor's second write): nothing to do, nothing to log.
    if (trigger === 'file' && textDigest === settledDigest) return undefined;
    let next: Readonly<PipelineFile>;
    try {
      next = parsePipelineText(text, file, { ...(options.env ? { env: options.env } : {}), ...(options.overrides ? { overrides: options.overrides } : {}) });
    } catch (error) {
      return reject(trigger, error);
    }
    let applied: ReloadApplyResult;
    try {
      applied = await options.apply(next);
    } catch (error) {
      return reject(trigger, error);
    }
    const changes = summarizeDiff(applied.diff);
    if (!applied.applied && applied.problems.length > 0) {
      // Every change was refused (e.g. no new listener could bind): the running pipeline stays.
      logger.warn({ trigger, file, result: 'rejected', changes, problems: applied.problems }, 'pipeline reload rejected; the running pipeline stays in force');
      return finish({ trigger, result: 'rejected', changes, problems: applied.problems });
    }
    settledDigest = textDigest;
    const result: ReloadResult = applied.applied ? 'applied' : 'unchanged';
    logger.info({ trigger, file, result, changes }, result === 'applied' ? 'pipeline reloaded' : 'pipeline reload: nothing to change');
    if (applied.problems.length > 0) {
      logger.warn({ trigger, file, problems: applied.problems }, 'pipeline reload: these parts were refused and keep running as before');
    }
    if (applied.diff.restartNeeded.length > 0) {
      logger.warn(
        { trigger, file, sections: applied.diff.restartNeeded },
        'pipeline reload: restart needed for these sections; the running worker keeps their old settings',
      );
    }
    return finish({ trigger, result, changes, problems: applied.problems });
  };

  const reload = (trigger: ReloadTrigger): Promise<ReloadOutcome> => {
    if (pending) return pending;
    const next = chain.then(async () => {
      pending = undefined;
      return (await run(trigger)) ?? { trigger, result: 'unchanged' as const, problems: [] };
    });
    pending = next;
    chain = next.catch(() => undefined);
    return next;
  };

  let watcher: FSWatcher | undefined;
  if (options.watch !== false) {
    const name = basename(file);
    try {
      watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
        // `..data` and friends: a Kubernetes ConfigMap swaps a symlinked folder instead of the file.
        if (closed || (changed !== null && changed !== name && !changed.startsWith('..'))) return;
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => {
          timer = undefined;
          if (!closed) void reload('file');
        }, debounceMs);
        timer.unref();
      });
      watcher.on('error', (error) => logger.warn({ file, err: errorMessage(error) }, 'pipeline file watch failed; reload with SIGHUP'));
    } catch (error) {
      logger.warn({ file, err: errorMessage(error) }, 'cannot watch the pipeline file; reload with SIGHUP');
    }
  }

  return {
    reload,
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      watcher?.close();
    },
  };
}
