/**
 * Redis ACL users for fortistream, derived from a pipeline (`fortistream acl`).
 *
 * Three users, each limited to the pipeline's key prefix and to the commands its role sends:
 *
 * - worker (`fortistream run`): writes events, dead letters, profile streams, identity sessions,
 *   counters, alerts and the audit stream. Read-write on `<prefix>*`.
 * - reader (`fortistream sessions`, `counters`, `tail` without `--group`, dashboards): read-only,
 *   `%R~<prefix>*` (Redis 7 read-only key permission) and read commands only.
 * - consumer (`tail --group`, the consumer kit `createStreamConsumer`): reads through consumer
 *   groups, which writes group state (XREADGROUP, XACK, XAUTOCLAIM, XGROUP CREATE); may XADD only
 *   to dead-letter streams `<prefix>*:dead` (the kit's default `<stream>:dead`), through a selector.
 *
 * Commands sent inside Lua (`redis.call`) are checked against the caller's ACL too, so they are read
 * from the very scripts the worker and the consumer kit register (includes expanded): a new
 * `redis.call` in a script shows up in the rules without touching this file.
 *
 * No pub/sub is used: every user gets `resetchannels` and no `&` pattern.
 *
 * Enforcement jobs (pipelines with `devices` or `actions`): the BullMQ queue lives under
 * `<prefix>{bull}:` (src/state/keys.ts), inside the worker's key pattern, so only commands are added:
 * those of BullMQ's own Lua scripts, read from the installed package like ours, plus the ones BullMQ
 * sends directly (see `BULLMQ_DIRECT_COMMANDS`), plus SET/PTTL for the per-device call spacing.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { PipelineFile } from '../config/pipeline.js';
import { FEED_REDIS_COMMANDS } from '../feeds/redis-commands.js';
import { loadLuaScript, STATE_SCRIPTS } from '../state/script-loader.js';

/** Commands whose ACL rule names a subcommand (`+object|encoding`), never the whole container. */
const CONTAINER_COMMANDS = new Set(['acl', 'client', 'cluster', 'command', 'config', 'function', 'memory', 'module', 'object', 'pubsub', 'script', 'xgroup', 'xinfo']);

/** Sent by ioredis when it connects, and by the sink's raw RESP connection (AUTH, SELECT). */
const CONNECTION_COMMANDS = [
  'auth', // raw RESP sink; ioredis with RESP2
  'hello', // ioredis RESP3 handshake (carries AUTH)
  'client|setname', // ioredis `connectionName`; CLIENT SETINFO/MAINT_NOTIFICATIONS errors are ignored by ioredis
  'info', // ioredis ready check (enableReadyCheck)
  'ping', // connect check
  'select', // only when the URL names a db (redis://…/2)
  'quit', // clean shutdown
] as const;

export interface AclUserNames {
  readonly worker: string;
  readonly reader: string;
  readonly consumer: string;
}

export const DEFAULT_ACL_USERS: AclUserNames = {
  worker: 'fortistream-worker',
  reader: 'fortistream-reader',
  consumer: 'fortistream-consumer',
};

/**
 * How each user's password appears in the rule: `>CHANGE_ME` placeholder, `>plain` (tests), or
 * `#<sha256 hex>` (what `fortistream acl --password-file` prints: the secret itself never is).
 */
export type AclPassword = { readonly placeholder: true } | { readonly plain: string } | { readonly sha256: string };

export const PASSWORD_PLACEHOLDER = 'CHANGE_ME';

export interface DeriveAclOptions {
  readonly users?: Partial<AclUserNames>;
  readonly passwords?: Partial<Record<keyof AclUserNames, AclPassword>>;
}

export interface AclRules {
  readonly users: AclUserNames;
  /** Redis glob of every key the pipeline uses (`fortistream:*`). */
  readonly keyPattern: string;
  /** Rule text after `ACL SETUSER <name>` (also the rest of an ACL file's `user <name>` line). */
  readonly worker: string;
  readonly reader: string;
  readonly consumer: string;
  /** Commands granted (lower case, `command|subcommand`), sorted. */
  readonly commands: { readonly worker: string[]; readonly reader: string[]; readonly consumer: string[] };
}

const REDIS_CALL = /redis\.p?call\(\s*(['"])([A-Za-z]+)\1(?:\s*,\s*(['"])([A-Za-z]+)\3)?/g;
const ANY_REDIS_CALL = /redis\.p?call\(/g;

/**
 * Every command a Lua source runs with `redis.call`/`redis.pcall`, lower case (`object|encoding` for
 * container commands). Throws on a call whose command is not a string literal: it could not be granted.
 */
export function luaCommands(source: string, name = 'script'): string[] {
  const found = new Set<string>();
  let literal = 0;
  for (const match of source.matchAll(REDIS_CALL)) {
    literal += 1;
    const command = (match[2] ?? '').toLowerCase();
    if (CONTAINER_COMMANDS.has(command)) {
      const sub = match[4];
      if (sub === undefined) throw new Error(`${name}: redis.call('${command}', …) without a literal subcommand; cannot derive its ACL rule`);
      found.add(`${command}|${sub.toLowerCase()}`);
    } else {
      found.add(command);
    }
  }
  const all = [...source.matchAll(ANY_REDIS_CALL)].length;
  if (all !== literal) throw new Error(`${name}: ${all - literal} redis.call with a non-literal command; cannot derive its ACL rule`);
  return [...found];
}

function readSibling(relative: string): string {
  return readFileSync(new URL(relative, import.meta.url), 'utf8');
}

const SESSION_SCRIPTS = Object.values(STATE_SCRIPTS).filter((file) => file.startsWith('session-'));
const COUNTER_SCRIPTS = Object.values(STATE_SCRIPTS).filter((file) => file.startsWith('counter-'));

/** Commands of the state scripts the pipeline registers (sessions and/or counters). */
function stateLuaCommands(pipeline: PipelineFile): string[] {
  const files = [...(pipeline.sessions ? SESSION_SCRIPTS : []), ...(pipeline.counters ? COUNTER_SCRIPTS : [])];
  return files.flatMap((file) => luaCommands(loadLuaScript(file), `state/lua/${file}.lua`));
}

function sinkLuaCommands(): string[] {
  return ['xadd-batch-1.lua', 'xadd-packed-1.lua'].flatMap((file) => luaCommands(readSibling(`../sinks/lua/${file}`), `sinks/lua/${file}`));
}

function writerLeaseLuaCommands(): string[] {
  return luaCommands(readSibling('../runtime/lua/writer-lease-1.lua'), 'runtime/lua/writer-lease-1.lua');
}

function consumerLuaCommands(): string[] {
  return luaCommands(readSibling('../client/lua/dead-letter-2.lua'), 'client/lua/dead-letter-2.lua');
}

/**
 * Commands BullMQ 6 sends outside its scripts (reviewed in its `redis-queue-backend` and
 * `ioredis-client`): script calls, the worker's blocking wait, job/meta reads, logs, the events
 * stream, transactions. `CLIENT LIST` (only `getWorkers`, lists every client's address) is left out.
 */
export const BULLMQ_DIRECT_COMMANDS = [
  'evalsha', 'eval', 'multi', 'exec', 'info', 'client|setname', 'bzpopmin',
  'hgetall', 'hget', 'hmget', 'hexists', 'hset', 'hdel', 'hscan', 'sscan',
  'get', 'set', 'del', 'zrange', 'zrevrange', 'zscore', 'zcard', 'lpos', 'ltrim',
  'xadd', 'xread', 'xtrim',
] as const;

/**
 * Commands of BullMQ's scripts whose name is not a literal (reviewed in BullMQ 6.7): `pushCmd`
 * (LPUSH/RPUSH), `countCommand` (SCARD/HLEN) and `findPage`'s scan command (SSCAN/HSCAN/ZSCAN).
 */
const BULLMQ_DYNAMIC_COMMANDS = ['lpush', 'rpush', 'scard', 'hlen', 'sscan', 'hscan', 'zscan'];
/** How many non-literal calls those are; a BullMQ upgrade that changes it fails the ACL test. */
export const BULLMQ_REVIEWED_DYNAMIC_CALLS = 3;

/** `rcall` is BullMQ's alias (`local rcall = redis.call`). */
const BULLMQ_CALL = /\b(?:rcall|redis\.p?call)\(\s*(['"])([A-Za-z]+)\1/g;
const BULLMQ_ANY_CALL = /\b(?:rcall|redis\.p?call)\(/g;

/**
 * Commands in BullMQ's Lua scripts, from the installed package. The relay scripts (a BullMQ
 * feature fortistream does not use) are skipped.
 */
export function bullmqLuaCommands(): { commands: string[]; dynamicCalls: number } {
  const commandsDir = join(dirname(createRequire(import.meta.url).resolve('bullmq')), 'commands');
  const files = [
    ...readdirSync(commandsDir).filter((f) => f.endsWith('.lua') && !f.startsWith('relay')).map((f) => join(commandsDir, f)),
    ...readdirSync(join(commandsDir, 'includes')).filter((f) => f.endsWith('.lua')).map((f) => join(commandsDir, 'includes', f)),
  ];
  const found = new Set<string>(BULLMQ_DYNAMIC_COMMANDS);
  let dynamicCalls = 0;
  for (const file of files) {
    const source = readFileSync(file, 'utf8');
    let literal = 0;
    for (const match of source.matchAll(BULLMQ_CALL)) {
      literal += 1;
      found.add((match[2] ?? '').toLowerCase());
    }
    dynamicCalls += [...source.matchAll(BULLMQ_ANY_CALL)].length - literal;
  }
  return { commands: [...found].sort(), dynamicCalls };
}

/** Everything the actions queue and runner send (BullMQ, the rate markers, the audit XADD). */
export function actionCommands(): string[] {
  return [...new Set([...BULLMQ_DIRECT_COMMANDS, ...bullmqLuaCommands().commands, 'set', 'pttl', 'xadd'])].sort();
}

/** Commands `fortistream run` sends for this pipeline (connection, sinks, state, API, actions). */
export function workerCommands(pipeline: PipelineFile): string[] {
  const commands = new Set<string>([
    ...CONNECTION_COMMANDS,
    // Sinks: XADD (pipeline and raw RESP strategies), XREVRANGE (seeds explicit ids from the streams'
    // last ids), and the XADD scripts (ioredis defineCommand: EVALSHA, then EVAL on NOSCRIPT; no SCRIPT LOAD).
    'xadd',
    'xrevrange',
    'evalsha',
    'eval',
    ...sinkLuaCommands(),
    // The writer lease of each stream it writes (runtime/writer-lease.ts).
    ...writerLeaseLuaCommands(),
  ]);
  if (pipeline.sessions) commands.add('hmget'); // the refresh looks up the IP index before its script
  for (const command of stateLuaCommands(pipeline)) commands.add(command);
  if (pipeline.api) {
    // HTTP API (SSE): the last id of a profile stream, then XREAD BLOCK on a duplicated connection.
    commands.add('xrevrange');
    commands.add('xread');
  }
  // feeds: address lists (read and written: also by bans and revocations), group feeds, the pusher
  if (pipeline.feeds !== undefined || pipeline.devices !== undefined) for (const command of FEED_REDIS_COMMANDS) commands.add(command);
  if (pipeline.devices !== undefined || pipeline.actions !== undefined) {
    for (const command of actionCommands()) commands.add(command);
  }
  return [...commands].sort();
}

/** Pure reads: `sessions`, `counters`, `tail` without `--group`, and any downstream reader. */
export function readerCommands(): string[] {
  return [
    ...CONNECTION_COMMANDS,
    // sessions: HGET on the user/IP index, HGETALL per session, ZRANGE on the expiry index
    'hget',
    'hgetall',
    'hmget',
    'zrange',
    // counters: HGETALL of the buckets; SCAN MATCH to list keys (SCAN is not key-checked: it lists key
    // names of the whole db, not their values)
    'scan',
    // tail / dashboards: XREAD BLOCK, with CLIENT ID + CLIENT UNBLOCK to interrupt the blocking read
    'xread',
    'xrange',
    'xrevrange',
    'xlen',
    'client|id',
    'client|unblock',
  ].sort();
}

/** Consumer-group readers (`tail --group`, `createStreamConsumer`). XADD is granted by a selector only. */
export function consumerCommands(): string[] {
  const commands = new Set<string>([
    ...readerCommands(),
    'xreadgroup',
    'xack',
    'xautoclaim',
    'xpending',
    'xgroup|create',
    // dead letters: one script (EVALSHA/EVAL) on a single Redis, XRANGE + XADD + XACK on a Cluster
    'evalsha',
    'eval',
    ...consumerLuaCommands(),
  ]);
  return [...commands].sort();
}

/** A Redis glob matching exactly the keys that start with `prefix`. */
export function keyPatternFor(prefix: string): string {
  return `${prefix.replace(/[\\*?[\]]/g, (c) => `\\${c}`)}*`;
}

function passwordRule(password: AclPassword | undefined): string {
  if (password === undefined || 'placeholder' in password) return `>${PASSWORD_PLACEHOLDER}`;
  if ('sha256' in password) {
    if (!/^[0-9a-f]{64}$/.test(password.sha256)) throw new Error('an ACL password hash must be 64 lower-case hex digits (SHA-256)');
    return `#${password.sha256}`;
  }
  if (password.plain.length === 0 || /\s/.test(password.plain)) throw new Error('an ACL password must be non-empty and without whitespace');
  return `>${password.plain}`;
}

const grants = (commands: readonly string[]): string => commands.map((c) => `+${c}`).join(' ');

/** The ACL rules of the worker, reader and consumer users for this pipeline. */
export function deriveAclRules(pipeline: PipelineFile, options: DeriveAclOptions = {}): AclRules {
  const users: AclUserNames = { ...DEFAULT_ACL_USERS, ...options.users };
  for (const name of Object.values(users)) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new Error(`ACL user name "${name}": letters, digits and _ . - only`);
  }
  const keyPattern = keyPatternFor(pipeline.redis.key_prefix);
  const deadLetters = keyPatternFor(pipeline.redis.key_prefix).replace(/\*$/, '*:dead');
  const worker = workerCommands(pipeline);
  const reader = readerCommands();
  const consumer = consumerCommands();
  const consumerRoot = consumer.filter((c) => c !== 'xadd');
  const pw = options.passwords ?? {};
  // `reset` first: re-applying a rule never keeps a permission an older version granted.
  return {
    users,
    keyPattern,
    worker: `reset on ${passwordRule(pw.worker)} ~${keyPattern} resetchannels -@all ${grants(worker)}`,
    reader: `reset on ${passwordRule(pw.reader)} %R~${keyPattern} resetchannels -@all ${grants(reader)}`,
    consumer: `reset on ${passwordRule(pw.consumer)} ~${keyPattern} resetchannels -@all ${grants(consumerRoot)} (~${deadLetters} +xadd)`,
    commands: { worker, reader, consumer },
  };
}

/** `ACL SETUSER` lines (redis-cli) or `user` lines (ACL file), each after a comment saying what it is for. */
export function formatAclRules(rules: AclRules, format: 'cli' | 'aclfile' = 'cli'): string[] {
  const head = format === 'cli' ? 'ACL SETUSER' : 'user';
  return [
    `# fortistream Redis ACL users (Redis >= 7.0: %R~ key permissions and selectors). Keys: ${rules.keyPattern} only.`,
    '# Replace CHANGE_ME (or use --password-file: the SHA-256 of the password is printed, never the password).',
    '# No pub/sub channels are used (resetchannels). The actions queue (BullMQ) lives under <prefix>{bull}: (same pattern).',
    '#',
    `# ${rules.users.worker}: the worker (fortistream run): writes streams, sessions, counters, alerts, audit.`,
    `#   connect: redis://${rules.users.worker}:PASSWORD@HOST:PORT`,
    `${head} ${rules.users.worker} ${rules.worker}`,
    '#',
    `# ${rules.users.reader}: read-only (fortistream sessions / counters / tail without --group, dashboards).`,
    `${head} ${rules.users.reader} ${rules.reader}`,
    '#',
    `# ${rules.users.consumer}: consumer groups (tail --group, createStreamConsumer): acks and claims entries,`,
    '#   creates its group, and may XADD only to dead-letter streams (<stream>:dead).',
    `${head} ${rules.users.consumer} ${rules.consumer}`,
  ];
}
