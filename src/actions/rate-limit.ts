import type { Redis } from 'ioredis';
import { createActionKeys } from '../state/keys.js';

/**
 * Per-device call spacing shared by every runner on the same Redis: a call may go when
 * `SET <prefix>actions:rate:<device> 1 NX PX <1000 / max_calls_per_second>` succeeds; otherwise the
 * key's PTTL says how long to wait. Redis keeps the time (PX), so runners on several hosts agree
 * without comparing clocks, and a device's limit never slows another device.
 */
export interface DeviceRateLimiter {
  /** 0 when the call may go now (the slot is taken), else milliseconds to wait before asking again. */
  take(device: string, maxCallsPerSecond: number): Promise<number>;
}

export function callIntervalMs(maxCallsPerSecond: number): number {
  return Math.max(1, Math.ceil(1000 / maxCallsPerSecond));
}

export function createDeviceRateLimiter(redis: Redis, prefix: string): DeviceRateLimiter {
  const keys = createActionKeys(prefix);
  return {
    async take(device, maxCallsPerSecond) {
      const key = keys.deviceRate(device);
      const interval = callIntervalMs(maxCallsPerSecond);
      // Two tries: the marker can expire between a refused SET and its PTTL.
      for (let i = 0; i < 2; i += 1) {
        if ((await redis.set(key, '1', 'PX', interval, 'NX')) === 'OK') return 0;
        const ttl = await redis.pttl(key);
        if (ttl > 0) return ttl;
      }
      return 1;
    },
  };
}
