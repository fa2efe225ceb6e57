import type { ChainableCommander } from 'ioredis';
import { checkScriptReply } from '../errors.js';
import { parseSession, type Session } from '../session-model.js';
import { replyArray, replyFlatStrings, replyNumber, replyString } from '../reply.js';
import type { SessionOpenResult } from './contracts.js';

export function parseOpenReply(reply: unknown): SessionOpenResult {
  const script = 'session-open';
  const items = replyArray(script, checkScriptReply(script, reply));
  const status = replyString(script, items[0]);
  if (status !== 'opened' && status !== 'replaced' && status !== 'duplicate' && status !== 'stale' && status !== 'expired' && status !== 'replayed') {
    throw new Error(`${script}: unknown status ${status}`);
  }
  return {
    status,
    id: replyString(script, items[1]),
    expiresMs: replyNumber(script, items[2]),
    replacedIds: items.slice(3).map((item) => replyString(script, item)),
  };
}

export function parseSessionList(script: string, items: readonly unknown[]): Session[] {
  const sessions: Session[] = [];
  for (const item of items) {
    const session = parseSession(replyFlatStrings(script, item));
    if (session) sessions.push(session);
  }
  return sessions;
}

/** Runs a pipeline and returns each command's reply, throwing the first error. */
export async function execPipeline(pipeline: ChainableCommander): Promise<unknown[]> {
  const results = await pipeline.exec();
  if (!results) throw new Error('pipeline was discarded');
  return results.map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}

export function parseCloseReply(reply: unknown): Session[] {
  return parseSessionList('session-close', replyArray('session-close', checkScriptReply('session-close', reply)));
}
