import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTailLine, tailCommand } from '../../../src/commands/tail.js';
import { testRedisClient, testRedisUrl, uniquePrefix } from '../../support/redis.js';

let redis: Redis;

beforeAll(() => {
  redis = testRedisClient();
});

afterAll(async () => {
  await redis.quit();
});

const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const HOSTILE = 'evil\u001b[2J\u001b]0;pwned\u0007\r\nfake 1-0  line\u009b31m\u2028end\\x41';

describe('tailCommand', () => {
  it('without a group, prints existing entries with --from-start and exits after --count', async () => {
    const stream = `${uniquePrefix('tail')}events`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push(String(await redis.xadd(stream, '*', 'event.action', `a${i}`, 'n', String(i))));
    const lines: string[] = [];
    const printed = await tailCommand({ redisUrl: testRedisUrl(), stream, json: false, count: 3, fromStart: true, print: (line) => lines.push(line) });
    expect(printed).toBe(3);
    expect(lines).toEqual([0, 1, 2].map((i) => `${ids[i]}  event.action=a${i} n=${i}`));
  });

  it('without --from-start, prints only entries added after it started', async () => {
    const stream = `${uniquePrefix('tail')}events`;
    await redis.xadd(stream, '*', 'old', '1');
    const lines: string[] = [];
    const tail = tailCommand({ redisUrl: testRedisUrl(), stream, json: true, count: 2, blockMs: 200, print: (line) => lines.push(line) });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const a = await redis.xadd(stream, '*', 'new', '1');
    const b = await redis.xadd(stream, '*', 'new', '2');
    expect(await tail).toBe(2);
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      { id: a, fields: { new: '1' } },
      { id: b, fields: { new: '2' } },
    ]);
  });

  it('never lets control characters or escape sequences reach the terminal, in text or JSON', async () => {
    const stream = `${uniquePrefix('tail')}events`;
    await redis.xadd(stream, '*', 'message', HOSTILE, 'na\u001bme', 'x');
    for (const json of [false, true]) {
      const lines: string[] = [];
      await tailCommand({ redisUrl: testRedisUrl(), stream, json, count: 1, fromStart: true, print: (line) => lines.push(line) });
      expect(lines).toHaveLength(1);
      const line = lines[0] as string;
      expect(line).not.toMatch(RAW_CONTROL);
      if (json) {
        expect(JSON.parse(line).fields).toEqual({ message: HOSTILE, 'na\u001bme': 'x' });
      } else {
        expect(line).toContain('message=evil\\x1b[2J\\x1b]0;pwned\\x07\\r\\nfake 1-0  line\\u009b31m\\u2028end\\\\x41');
        expect(line).toContain('na\\x1bme=x');
      }
    }
  });

  it('with --group, reads through the consumer group and acks what it printed (and only that)', async () => {
    const stream = `${uniquePrefix('tail')}events`;
    const ids: string[] = [];
    for (let i = 0; i < 4; i += 1) ids.push(String(await redis.xadd(stream, '*', 'n', String(i))));
    const lines: string[] = [];
    const options = { redisUrl: testRedisUrl(), stream, group: 'soc', consumer: 'me', json: false, fromStart: true, blockMs: 200 };
    expect(await tailCommand({ ...options, count: 3, print: (line: string) => lines.push(line) })).toBe(3);
    expect(lines).toEqual([0, 1, 2].map((i) => `${ids[i]}  n=${i}`));
    const groups = (await redis.call('XINFO', 'GROUPS', stream)) as unknown[][];
    const info = groups[0] ?? [];
    expect(info[info.indexOf('pending') + 1]).toBe(0);
    expect(info[info.indexOf('last-delivered-id') + 1]).toBe(ids[2]);

    // The next tail in the group continues where the first stopped.
    const more: string[] = [];
    expect(await tailCommand({ ...options, count: 1, print: (line: string) => more.push(line) })).toBe(1);
    expect(more).toEqual([`${ids[3]}  n=3`]);
  });

  it('stops on abort and resolves with what it printed', async () => {
    const stream = `${uniquePrefix('tail')}events`;
    const controller = new AbortController();
    const tail = tailCommand({ redisUrl: testRedisUrl(), stream, json: false, signal: controller.signal, print: () => undefined });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const before = Date.now();
    controller.abort();
    expect(await tail).toBe(0);
    expect(Date.now() - before).toBeLessThan(1000);
  });

  it('formats an entry as one line', () => {
    expect(formatTailLine('1-0', ['a', 'b c', 'd', ''], false)).toBe('1-0  a=b c d=');
    expect(formatTailLine('1-0', ['a', '\u0085'], true)).toBe('{"id":"1-0","fields":{"a":"\\u0085"}}');
  });
});
