#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { checkCommand } from './commands/check.js';
import { demoCommand } from './commands/demo.js';
import { parseCommand } from './commands/parse.js';
import { FortistreamError, isFortistreamError } from './errors.js';
import { runUntilSignal } from './main.js';
import { createLogger } from './observability/logger.js';

const DEFAULT_PIPELINE = 'pipelines/default.yaml';

function hostPort(value: string): string {
  if (!/^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):\d{1,5}$/.test(value)) {
    throw new InvalidArgumentError('expected HOST:PORT, e.g. 0.0.0.0:5514 or [::]:5514');
  }
  return value;
}

function redisUrl(value: string): string {
  if (!/^rediss?:\/\//.test(value)) throw new InvalidArgumentError('expected a redis:// or rediss:// URL');
  return value;
}

const redisOption = (): Option =>
  new Option('--redis <url>', 'Redis URL (default: $REDIS_URL, the pipeline\'s redis.url, 127.0.0.1:6379, or a private redis-server)').argParser(redisUrl);

function buildProgram(): Command {
  const program = new Command('fortistream')
    .description('FortiGate syslog → normalized events, identity state and sanitized streams in Redis')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('run')
    .description('run the worker: listen for FortiGate syslog and write normalized events to Redis Streams')
    .option('-p, --pipeline <file>', 'pipeline file', DEFAULT_PIPELINE)
    .addOption(redisOption())
    .option('--udp <host:port>', 'address of the UDP syslog listener (replaces the pipeline\'s, or adds one)', hostPort)
    .option('--tcp <host:port>', 'address of the TCP syslog listener (replaces the pipeline\'s, or adds one)', hostPort)
    .option('--tls <host:port>', 'address of the TLS syslog listener (needs tls.cert_file/key_file in the pipeline)', hostPort)
    .option('--log-level <level>', 'log level: fatal, error, warn, info, debug, trace', 'info')
    .action(async (opts: { pipeline: string; redis?: string; udp?: string; tcp?: string; tls?: string; logLevel: string }) => {
      const logger = createLogger({ level: opts.logLevel });
      process.exitCode = await runUntilSignal({
        pipelineFile: opts.pipeline,
        redisUrl: opts.redis,
        udp: opts.udp,
        tcp: opts.tcp,
        tls: opts.tls,
        logger,
      });
    });

  program
    .command('check')
    .description('validate a pipeline file; prints every problem with file, key path and what was expected')
    .argument('[file]', 'pipeline file', DEFAULT_PIPELINE)
    .action((file: string) => {
      process.exitCode = checkCommand(file, console.log, console.error);
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

  program
    .command('demo')
    .description('start the worker on a private Redis, replay bundled FortiGate lines over UDP and TCP, show what landed')
    .addOption(redisOption())
    .option('--json', 'print the report as JSON')
    .action(async (opts: { redis?: string; json?: boolean }) => {
      const logger = createLogger({ level: 'warn' });
      process.exitCode = await demoCommand({ redisUrl: opts.redis, json: Boolean(opts.json), logger, print: console.log });
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
