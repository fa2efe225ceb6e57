#!/usr/bin/env node
import { Command, Option } from 'commander';
import { aclCommand } from './commands/acl.js';
import { BENCH_HELP, benchCommand, type BenchPart } from './commands/bench.js';
import { checkCommand } from './commands/check.js';
import { demoCommand } from './commands/demo.js';
import { defaultPipelinePath } from './commands/context.js';
import { countersCommand } from './commands/counters.js';
import { keygenCommand } from './commands/keygen.js';
import { parseCommand } from './commands/parse.js';
import { pseudonymCommand } from './commands/pseudonym.js';
import { replayCommand } from './commands/replay.js';
import { sessionsCommand } from './commands/sessions.js';
import { tailCommand } from './commands/tail.js';
import { loadPipelineFile } from './config/load.js';
import { FortistreamError, isFortistreamError } from './errors.js';
import { runUntilSignal } from './main.js';
import { createLogger } from './observability/logger.js';
import { loadRedisTls, redisTlsOptions } from './runtime/redis.js';
import {
  addRedisTlsOptions,
  benchEvents,
  DEFAULT_PIPELINE,
  hostPort,
  isoTime,
  MAX_BENCH_EVENTS,
  positiveInt,
  readRedisUrl,
  redisOption,
  redisTlsOverrides,
  redisUrl,
  seconds,
  seed,
  type RedisTlsFlags,
} from './commands/cli-options.js';

function buildProgram(): Command {
  const program = new Command('fortistream')
    .description('FortiGate syslog → normalized events, identity state and sanitized streams in Redis')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)');

  addRedisTlsOptions(program
    .command('run')
    .description('run the worker: listen for FortiGate syslog and write normalized events to Redis Streams')
    .option('-p, --pipeline <file>', 'pipeline file', DEFAULT_PIPELINE)
    .addOption(redisOption())
    .option('--udp <host:port>', 'address of the UDP syslog listener (replaces the pipeline\'s, or adds one)', hostPort)
    .option('--tcp <host:port>', 'address of the TCP syslog listener (replaces the pipeline\'s, or adds one)', hostPort)
    .option('--tls <host:port>', 'address of the TLS syslog listener (needs tls.cert_file/key_file in the pipeline)', hostPort)
    .option('--api <host:port>', 'serve the HTTP API (SSE event streams, /healthz) here; needs api.tokens_file in the pipeline', hostPort)
    .option('--no-watch', 'do not reload the pipeline when its file changes (SIGHUP still reloads it)')
    .option('--log-level <level>', 'log level: fatal, error, warn, info, debug, trace', 'info'))
    .action(async (opts: { pipeline: string; redis?: string; udp?: string; tcp?: string; tls?: string; api?: string; watch: boolean; logLevel: string } & RedisTlsFlags) => {
      const logger = createLogger({ level: opts.logLevel });
      process.exitCode = await runUntilSignal({
        pipelineFile: opts.pipeline,
        redisUrl: opts.redis,
        redisTls: redisTlsOverrides(opts),
        udp: opts.udp,
        tcp: opts.tcp,
        tls: opts.tls,
        api: opts.api,
        watch: opts.watch,
        logger,
      });
    });

  program
    .command('check')
    .description('validate a pipeline file (every problem with file, key path and what was expected), then run its test cases (<file>.test.yaml beside it)')
    .argument('[file]', 'pipeline file', DEFAULT_PIPELINE)
    .option('--tests <file>', 'pipeline test file to run (default: <file>.test.yaml beside the pipeline, when it exists)')
    .option('--no-tests', 'validate only')
    .action((file: string, opts: { tests: string | boolean }) => {
      process.exitCode = checkCommand(file, console.log, console.error, {
        tests: opts.tests !== false,
        testsFile: typeof opts.tests === 'string' ? opts.tests : undefined,
      });
    });

  program
    .command('parse')
    .description('parse raw FortiGate log lines (any format) and print one JSON object per line, in order')
    .argument('[file]', 'file to read, or - for standard input', '-')
    .action(async (file: string) => {
      try {
        await parseCommand(file);
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        throw new FortistreamError('FST_INPUT_UNREADABLE', `cannot read ${file}: ${why}`);
      }
    });

  addRedisTlsOptions(program
    .command('replay')
    .description('run saved FortiGate logs (files, or - for standard input) through the pipeline and write them, as the worker would; or send them to a running worker with --to')
    .argument('<files...>', 'log files (LF lines or RFC 6587 octet counting, detected), - for standard input')
    .option('-p, --pipeline <file>', 'pipeline file (its sinks, profiles, sessions and counters)')
    .addOption(redisOption('Redis URL (default: $REDIS_URL, the pipeline\'s redis.url, 127.0.0.1:6379; never a private server: it would not keep what was written)'))
    .option('--source <name>', 'fortistream.source of the replayed events', 'replay')
    .option('--to <url>', 'send to a running worker instead (tcp://HOST:PORT, tls://HOST:PORT or udp://HOST:PORT); needs no Redis')
    .option('--ca <file>', 'with --to tls://: CA file that verifies the worker\'s certificate')
    .option('--cert <file>', 'with --to tls://: client certificate')
    .option('--key <file>', 'with --to tls://: client key')
    .option('--json', 'print the summary as JSON')
    .option('--log-level <level>', 'log level: fatal, error, warn, info, debug, trace', 'warn'))
    .action(
      async (
        files: string[],
        opts: { pipeline?: string; redis?: string; source: string; to?: string; ca?: string; cert?: string; key?: string; json?: boolean; logLevel: string } & RedisTlsFlags,
      ) => {
        process.exitCode = await replayCommand({
          files,
          pipelineFile: opts.pipeline ?? defaultPipelinePath(),
          redisUrl: opts.redis,
          redisTls: redisTlsOverrides(opts),
          source: opts.source,
          to: opts.to,
          ca: opts.ca,
          cert: opts.cert,
          key: opts.key,
          json: Boolean(opts.json),
          logger: createLogger({ level: opts.logLevel }),
          print: console.log,
        });
      },
    );

  addRedisTlsOptions(program
    .command('sessions')
    .description('list live identity sessions (who is logged in from which address, until when)')
    .option('--user <name>', 'only this user\'s sessions (case-insensitive)')
    .option('--ip <address>', 'only sessions of this source or tunnel address')
    .option('--limit <n>', 'most sessions listed without --user/--ip', positiveInt)
    .option('--json', 'print JSON')
    .option('-p, --pipeline <file>', 'pipeline file (for the key prefix and redis.url)')
    .addOption(redisOption()))
    .action(async (opts: { user?: string; ip?: string; limit?: number; json?: boolean; pipeline?: string; redis?: string } & RedisTlsFlags) => {
      await sessionsCommand({
        user: opts.user,
        ip: opts.ip,
        limit: opts.limit,
        json: Boolean(opts.json),
        pipelineFile: opts.pipeline,
        redisUrl: opts.redis,
        redisTls: redisTlsOverrides(opts),
        print: console.log,
      });
    });

  addRedisTlsOptions(program
    .command('revoke')
    .description("revoke a user's or an address's sessions now: delete them (and their index entries) atomically, audit session.revoked, and enqueue deauth-user (and ban-ip with --ban) on the FortiGates that saw them")
    .option('--user <name>', "every session of this user (case-insensitive)")
    .option('--ip <address>', 'every session of this source or tunnel address')
    .option('--reason <text>', 'why (kept in the audit entry and the FortiGate jobs)')
    .option('--ban <seconds>', 'also ban the sessions\' source addresses on their FortiGates for this long (0 = until cleared)', seconds)
    .option('--no-deauth', 'do not deauthenticate on the FortiGates (Redis only)')
    .option('--json', 'print JSON')
    .option('-p, --pipeline <file>', 'pipeline file (for the key prefix, devices and actions)')
    .addOption(redisOption()))
    .action(async (opts: { user?: string; ip?: string; reason?: string; ban?: number; deauth: boolean; json?: boolean; pipeline?: string; redis?: string } & RedisTlsFlags) => {
      const { revokeCommand } = await import('./commands/revoke.js');
      await revokeCommand({
        user: opts.user,
        ip: opts.ip,
        reason: opts.reason,
        ban: opts.ban,
        deauth: opts.deauth,
        json: Boolean(opts.json),
        pipelineFile: opts.pipeline,
        redisUrl: opts.redis,
        redisTls: redisTlsOverrides(opts),
        print: console.log,
      });
    });

  addRedisTlsOptions(program
    .command('counters')
    .description('show a sliding-window counter: every key with counts, or one key with its buckets')
    .argument('<name>', 'counter name from the pipeline file')
    .option('--key <key>', 'one key (e.g. a user name or address; several key fields are joined with |)')
    .option('--at <time>', 'read the window ending at this ISO time instead of now (counters run on event time)', isoTime)
    .option('--limit <n>', 'most keys scanned', positiveInt)
    .option('--json', 'print JSON')
    .option('-p, --pipeline <file>', 'pipeline file (for the counter definitions, key prefix and redis.url)')
    .addOption(redisOption()))
    .action(async (name: string, opts: { key?: string; at?: number; limit?: number; json?: boolean; pipeline?: string; redis?: string } & RedisTlsFlags) => {
      await countersCommand({
        name,
        key: opts.key,
        atMs: opts.at,
        limit: opts.limit,
        json: Boolean(opts.json),
        pipelineFile: opts.pipeline,
        redisUrl: opts.redis,
        redisTls: redisTlsOverrides(opts),
        print: console.log,
      });
    });

  addRedisTlsOptions(program
    .command('tail')
    .description('print entries of a stream as they arrive (full key name, e.g. fortistream:events:soc)')
    .argument('<stream>', 'stream key, prefix included')
    .option('--group <name>', 'read through this consumer group and acknowledge what was printed')
    .option('--consumer <name>', 'consumer name within the group (default tail-<host>-<pid>)')
    .option('--count <n>', 'exit after printing this many entries', positiveInt)
    .option('--from-start', 'start at the oldest entry instead of new ones (without --group)')
    .option('--json', 'one JSON object per entry')
    .option('-p, --pipeline <file>', 'pipeline file (for redis.url and redis.tls)')
    .addOption(redisOption()))
    .action(
      async (
        stream: string,
        opts: { group?: string; consumer?: string; count?: number; fromStart?: boolean; json?: boolean; pipeline?: string; redis?: string } & RedisTlsFlags,
      ) => {
        const abort = new AbortController();
        process.once('SIGINT', () => abort.abort());
        process.once('SIGTERM', () => abort.abort());
        const url = readRedisUrl(opts.redis, opts.pipeline);
        const pipelineTls = opts.pipeline === undefined && opts.redis !== undefined ? undefined : loadPipelineFile(opts.pipeline ?? defaultPipelinePath()).pipeline.redis.tls;
        const tls = await loadRedisTls(url, pipelineTls, redisTlsOverrides(opts));
        await tailCommand({
          redisUrl: url,
          redisOptions: redisTlsOptions(tls),
          stream,
          group: opts.group,
          consumer: opts.consumer,
          count: opts.count,
          fromStart: Boolean(opts.fromStart),
          json: Boolean(opts.json),
          print: console.log,
          signal: abort.signal,
        });
      },
    );

  const actions = addRedisTlsOptions(program
    .command('actions')
    .description('list enforcement jobs (FortiGate calls, webhooks): id, type, target, state, attempts, last error; `actions retry ID` retries a failed one')
    .option('--failed', 'only failed jobs (kept per actions.keep_failed)')
    .option('--limit <n>', 'most jobs listed (newest first)', positiveInt)
    .option('--json', 'print JSON')
    .option('-p, --pipeline <file>', 'pipeline file (for the key prefix, actions.queue and redis.url)')
    .addOption(redisOption()))
    .action(async (opts: { failed?: boolean; limit?: number; json?: boolean; pipeline?: string; redis?: string } & RedisTlsFlags) => {
      // Loaded on use: BullMQ takes ~0.3 s to import, which every other command would pay.
      const { actionsListCommand } = await import('./commands/actions.js');
      await actionsListCommand({
        failed: Boolean(opts.failed),
        limit: opts.limit,
        json: Boolean(opts.json),
        pipelineFile: opts.pipeline,
        redisUrl: opts.redis,
        redisTls: redisTlsOverrides(opts),
        print: console.log,
      });
    });

  // `actions` owns --pipeline/--redis/--json (commander gives a parent's options to the parent wherever
  // they appear), so `actions retry ID --pipeline F` reads them from there.
  actions
    .command('retry')
    .description('put a failed job back in the queue with its attempts reset (error FST_ACTION_NOT_RETRYABLE if it is not failed)')
    .argument('<id>', 'job id, as `fortistream actions --failed` prints it')
    .configureHelp({ showGlobalOptions: true })
    .action(async (id: string, _opts: unknown, command: Command) => {
      const opts = command.optsWithGlobals<{ json?: boolean; pipeline?: string; redis?: string } & RedisTlsFlags>();
      const { actionsRetryCommand } = await import('./commands/actions.js');
      await actionsRetryCommand({
        id,
        json: Boolean(opts.json),
        pipelineFile: opts.pipeline,
        redisUrl: opts.redis,
        redisTls: redisTlsOverrides(opts),
        print: console.log,
      });
    });

  program
    .command('pseudonym')
    .description('print the pseudonym of a user, address, network or device under a profile\'s key (to search the ml/agent streams)')
    .argument('<value>', 'the raw value, e.g. alice or 10.1.2.3')
    .option('--profile <name>', 'profile whose keyring is used (default: the only profile with a keyring)')
    .option('--kind <kind>', 'entity kind: user, group, ip, net, device, mac, host (default: ip for an address, else user)')
    .option('--all-keys', 'print the pseudonym under every live key (current first): both forms during a rotation overlap')
    .option('--json', 'print JSON')
    .option('-p, --pipeline <file>', 'pipeline file (for the profiles and their keyrings)')
    .action(async (value: string, opts: { profile?: string; kind?: string; allKeys?: boolean; json?: boolean; pipeline?: string }) => {
      await pseudonymCommand({
        value,
        profile: opts.profile,
        kind: opts.kind,
        allKeys: Boolean(opts.allKeys),
        json: Boolean(opts.json),
        pipelineFile: opts.pipeline,
        print: console.log,
      });
    });

  program
    .command('keygen')
    .description('create a keyring file (mode 600) with a random key, or add a new current key to one (key rotation)')
    .argument('<file>', 'keyring file')
    .option('--kid <id>', 'id of the new key (default k<YYYYMMDD>)')
    .option('--retire-previous-after <time>', 'end of the overlap of the key that was current (RFC 3339, e.g. 2026-12-31T00:00:00Z)')
    .action(async (file: string, opts: { kid?: string; retirePreviousAfter?: string }) => {
      await keygenCommand({ file, kid: opts.kid, retirePreviousAfter: opts.retirePreviousAfter, print: console.log });
    });

  program
    .command('acl')
    .description('print Redis ACL users for this pipeline: the worker (its key prefix, its commands), a read-only reader, a consumer-group reader')
    .option('-p, --pipeline <file>', 'pipeline file (for the key prefix, sessions, counters and api)')
    .option('--user <name>', 'name of the worker\'s user', 'fortistream-worker')
    .option('--reader-user <name>', 'name of the read-only user', 'fortistream-reader')
    .option('--consumer-user <name>', 'name of the consumer-group user', 'fortistream-consumer')
    .option('--password-file <file>', 'worker password (first line; mode 600): its SHA-256 is printed instead of >CHANGE_ME')
    .option('--reader-password-file <file>', 'reader password file, as --password-file')
    .option('--consumer-password-file <file>', 'consumer password file, as --password-file')
    .option('--acl-file', 'print `user NAME …` lines for an ACL file instead of ACL SETUSER commands')
    .option('--json', 'print JSON')
    .action(
      (opts: {
        pipeline?: string;
        user: string;
        readerUser: string;
        consumerUser: string;
        passwordFile?: string;
        readerPasswordFile?: string;
        consumerPasswordFile?: string;
        aclFile?: boolean;
        json?: boolean;
      }) => {
        aclCommand({
          pipelineFile: opts.pipeline,
          user: opts.user,
          readerUser: opts.readerUser,
          consumerUser: opts.consumerUser,
          passwordFile: opts.passwordFile,
          readerPasswordFile: opts.readerPasswordFile,
          consumerPasswordFile: opts.consumerPasswordFile,
          aclFile: Boolean(opts.aclFile),
          json: Boolean(opts.json),
          print: console.log,
        });
      },
    );

  program
    .command('demo')
    .description('start the worker on a private Redis, replay bundled FortiGate lines over UDP and TCP, show what landed')
    .addOption(redisOption())
    .option('--json', 'print the report as JSON')
    .action(async (opts: { redis?: string; json?: boolean }) => {
      const logger = createLogger({ level: 'warn' });
      process.exitCode = await demoCommand({ redisUrl: opts.redis, json: Boolean(opts.json), logger, print: console.log });
    });

  addRedisTlsOptions(program
    .command('bench')
    .description('measure fortistream on this machine: parse throughput on one core, and end to end over TCP into Redis (generated FortiGate lines)')
    .option('--events <n>', `lines to generate and measure (at most ${MAX_BENCH_EVENTS.toLocaleString('en-US')}; held in memory)`, benchEvents, 200_000)
    .option('--seed <n>', 'seed of the line generator: the same seed sends the same lines (their times aside), so runs compare', seed, 1)
    .option('--redis <url>', 'Redis for e2e (default: $REDIS_URL, else a private redis-server started and stopped by the bench; never 127.0.0.1:6379 unless named)', redisUrl)
    .option('-p, --pipeline <file>', 'e2e runs this pipeline (its sources replaced by one TCP listener on 127.0.0.1:0, see below) instead of the minimal one')
    .addOption(new Option('--only <part>', 'run one part only').choices(['parse', 'e2e']))
    .option('--json', 'print one JSON object'))
    .addHelpText('after', BENCH_HELP)
    .action(async (opts: { events: number; seed: number; redis?: string; pipeline?: string; only?: BenchPart; json?: boolean } & RedisTlsFlags) => {
      const abort = new AbortController();
      const interrupt = (): void => abort.abort();
      process.once('SIGINT', interrupt);
      process.once('SIGTERM', interrupt);
      try {
        process.exitCode = await benchCommand({
          events: opts.events,
          seed: opts.seed,
          only: opts.only,
          json: Boolean(opts.json),
          redisUrl: opts.redis,
          pipelineFile: opts.pipeline,
          redisTls: redisTlsOverrides(opts),
          print: console.log,
          progress: console.error,
          signal: abort.signal,
        });
      } finally {
        process.off('SIGINT', interrupt);
        process.off('SIGTERM', interrupt);
      }
    });

  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    if (isFortistreamError(error)) {
      console.error(`fortistream: ${error.code}: ${error.message}`);
      for (const line of error.details) console.error(`  ${line}`);
      process.exitCode = error.exitCode;
      return;
    }
    console.error(`fortistream: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  }
}

await main();
