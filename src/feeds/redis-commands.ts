/**
 * Every Redis command the feed code sends, for the worker's ACL user (src/security/acl.ts grants
 * them when the pipeline declares feeds). Keep in step with address-lists.ts, membership.ts,
 * group-index/, source.ts and push.ts; test/integration/feeds/acl.test.ts runs them all under the
 * derived user.
 */
export const FEED_REDIS_COMMANDS = [
  // address lists: a change and its audit entry in one MULTI; reads trim expired entries first
  'multi',
  'exec',
  'zadd',
  'zrem',
  'xadd',
  'zremrangebyscore',
  'zrangebyscore',
  'zmscore',
  // group feeds: the expiry index (zrangebyscore), pipelined HMGETs of sessions and the ip index
  'hmget',
  // group index: the stream's newest id and entry count (load), then XREAD + XINFO in a MULTI
  'xinfo|stream',
  // pusher: the newest audit entry, then XREAD BLOCK on its own connection
  'xrevrange',
  'xread',
] as const;
