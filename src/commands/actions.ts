import { createActionQueue, type ActionJobSummary, type ActionQueue } from '../actions/queue.js';
import { DEFAULT_ACTIONS_SETTINGS } from '../actions/settings.js';
import { escapeControlChars } from '../sinks/escape.js';
import { formatTable, openCommandContext, relativeTime, type CommandContext, type CommandContextOptions } from './context.js';

export interface ActionsListOptions extends CommandContextOptions {
  readonly failed: boolean;
  readonly json: boolean;
  readonly limit?: number | undefined;
  readonly print: (line: string) => void;
}

export interface ActionsRetryOptions extends CommandContextOptions {
  readonly id: string;
  readonly json: boolean;
  readonly print: (line: string) => void;
}

/** The pipeline's actions queue on the command's Redis client (which fails fast when Redis is away). */
async function withQueue<T>(options: CommandContextOptions, use: (queue: ActionQueue, context: CommandContext) => Promise<T>): Promise<T> {
  const context = await openCommandContext(options);
  const queue = createActionQueue({
    connection: context.redis,
    prefix: context.prefix,
    settings: context.pipeline.actions ?? DEFAULT_ACTIONS_SETTINGS,
    devices: context.pipeline.devices ?? {},
  });
  try {
    return await use(queue, context);
  } finally {
    await queue.close();
    await context.close();
  }
}

/** `fortistream actions [--failed] [--json]`: kept jobs, newest first. Returns the count. */
export async function actionsListCommand(options: ActionsListOptions): Promise<number> {
  return withQueue(options, async (queue) => {
    const jobs = await queue.list({ states: options.failed ? ['failed'] : undefined, limit: options.limit ?? 100 });
    if (options.json) {
      options.print(JSON.stringify(jobs.map(jobToJson), null, 2));
      return jobs.length;
    }
    if (jobs.length === 0) {
      options.print(options.failed ? `no failed jobs in queue ${queue.queueName}` : `no jobs in queue ${queue.queueName}`);
      return 0;
    }
    const now = Date.now();
    // Targets and errors carry user names and FortiOS text: never print their control characters raw.
    const clean = (text: string | undefined): string => escapeControlChars(text ?? '');
    const rows = jobs.map((job) => [
      job.id,
      job.type,
      clean(job.scope),
      clean(job.target),
      job.state,
      `${job.attempts}/${job.maxAttempts}`,
      relativeTime(job.finishedMs ?? job.createdMs, now),
      clean(job.lastError ?? '-').slice(0, 200),
    ]);
    for (const line of formatTable(['ID', 'TYPE', 'DEVICE', 'TARGET', 'STATE', 'ATTEMPTS', 'WHEN', 'LAST ERROR'], rows)) options.print(line);
    options.print(`${jobs.length} job(s)`);
    return jobs.length;
  });
}

/** `fortistream actions retry ID`: a failed job goes back to waiting, attempts reset. */
export async function actionsRetryCommand(options: ActionsRetryOptions): Promise<ActionJobSummary> {
  return withQueue(options, async (queue) => {
    const job = await queue.retry(options.id);
    if (options.json) options.print(JSON.stringify(jobToJson(job), null, 2));
    else options.print(`job ${job.id} (${job.type} ${escapeControlChars(job.target)} on ${escapeControlChars(job.scope)}) is waiting again, attempts reset`);
    return job;
  });
}

function jobToJson(job: ActionJobSummary): Record<string, unknown> {
  return {
    id: job.id,
    type: job.type,
    device: job.scope,
    target: job.target,
    state: job.state,
    attempts: job.attempts,
    max_attempts: job.maxAttempts,
    last_error: job.lastError ?? null,
    reason: job.reason ?? null,
    created: new Date(job.createdMs).toISOString(),
    finished: job.finishedMs === undefined ? null : new Date(job.finishedMs).toISOString(),
  };
}
