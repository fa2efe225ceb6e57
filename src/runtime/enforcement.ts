/**
 * The acting side of a running worker, assembled from `devices:`, `actions:` and `feeds:`: the actions
 * queue (producers: threshold alerts, revocations, the feed pusher), the runner that calls the
 * FortiGates, the address lists (`blocked`, `revoked`) and the feed pusher. A reload that changes
 * `devices:` or `actions:` builds a new queue and runner and retires the old ones once the jobs they
 * hold are handed over (jobs live in Redis, so none is lost); `feeds:` needs a restart.
 */

import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { PipelineFile } from '../config/pipeline.js';
import { errorMessage } from '../errors.js';
import { addToList } from '../feeds/address-lists.js';
import { startFeedPusher, type FeedPusher } from '../feeds/push.js';
import { loadFeeds, type FeedDefinition } from '../feeds/settings.js';
import type { Metrics } from '../observability/metrics.js';
import { createAlertActionDispatcher, type AddressListWriter, type AlertActionDispatcher } from '../actions/alert-actions.js';
import { createDeviceResolver, type DeviceResolver } from '../actions/device-resolver.js';
import type { ActionQueue } from '../actions/queue.js';
import type { ActionRunner } from '../actions/runner.js';
import type { RevokeDependencies } from '../actions/revoke.js';
import { DEFAULT_ACTIONS_SETTINGS } from '../actions/settings.js';
import { createStateKeys, type StateKeys } from '../state/keys.js';
import type { ActionableAlert } from '../state/stage.js';
import type { RedisTls } from './redis.js';

export interface EnforcementOptions {
  readonly pipeline: Readonly<PipelineFile>;
  /** The worker's ordinary client (audit, rate markers, address lists). */
  readonly redis: Redis;
  readonly redisUrl: string;
  readonly redisTls?: RedisTls | undefined;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface Enforcement {
  /** Key layout of identity state (the feeds and address lists live there). */
  readonly keys: StateKeys;
  /** Feeds declared in the pipeline, secrets loaded (for the API's /v1/feeds). */
  readonly feeds: readonly FeedDefinition[];
  /** What the state stage calls with alerts of counters that have an action. */
  readonly onActionAlerts: (alerts: readonly ActionableAlert[]) => void;
  /** What a revocation uses (queue, devices, lists), as configured now. */
  revocation(): Omit<RevokeDependencies, 'sessions'>;
  /** Applies new `devices:` / `actions:` (a reload); resolves once the new queue and runner run. */
  reconfigure(next: Readonly<PipelineFile>): Promise<void>;
  close(): Promise<void>;
}

interface ActingParts {
  readonly resolver: DeviceResolver;
  readonly queue: ActionQueue | undefined;
  readonly runner: ActionRunner | undefined;
  readonly dispatcher: AlertActionDispatcher | undefined;
}

/** True when the pipeline declares something to call (a FortiGate or a webhook). */
function acts(pipeline: Readonly<PipelineFile>): boolean {
  return Object.keys(pipeline.devices ?? {}).length > 0 || Object.keys(pipeline.actions?.webhooks ?? {}).length > 0;
}

/** The address-list writer bans and revocations use (expiry ∞ = listed until removed). */
export function addressListWriter(redis: Redis, keys: StateKeys): AddressListWriter {
  return {
    async add(list, address, expiresMs) {
      await addToList(redis, keys, list, address, Number.isFinite(expiresMs) ? expiresMs : null);
    },
  };
}

export async function startEnforcement(options: EnforcementOptions): Promise<Enforcement> {
  const { redis, logger, metrics } = options;
  const start = options.pipeline;
  const prefix = start.redis.key_prefix;
  const keys = createStateKeys({ prefix, auditStream: prefix + start.audit.stream });
  const lists = addressListWriter(redis, keys);
  const log = logger.child({ component: 'enforcement' });
  // Token and feed secret files first: a bad one stops the start (or the reload) before anything runs.
  const feeds = await loadFeeds(start.feeds);

  const build = async (pipeline: Readonly<PipelineFile>): Promise<ActingParts> => {
    const resolver = createDeviceResolver(pipeline.devices);
    if (!acts(pipeline)) return { resolver, queue: undefined, runner: undefined, dispatcher: undefined };
    // BullMQ is loaded only when something acts: it costs ~0.3 s at start.
    const [{ createActionQueue }, { startActionRunner }] = await Promise.all([import('../actions/queue.js'), import('../actions/runner.js')]);
    const settings = pipeline.actions ?? DEFAULT_ACTIONS_SETTINGS;
    const devices = pipeline.devices ?? {};
    const runner = await startActionRunner({
      redisUrl: options.redisUrl,
      redisTls: options.redisTls,
      prefix,
      settings,
      devices,
      audit: { stream: keys.auditStream, maxLen: pipeline.audit.max_len },
      redis,
      logger,
      metrics,
    });
    let queue: ActionQueue | undefined;
    try {
      queue = createActionQueue({ redisUrl: options.redisUrl, redisTls: options.redisTls, prefix, settings, devices, logger: log });
      const dispatcher = createAlertActionDispatcher({ queue, devices: resolver, lists, logger: log, registry: metrics.registry });
      return { resolver, queue, runner, dispatcher };
    } catch (error) {
      // A reload that fails here keeps the parts in force: close what this attempt started.
      await Promise.allSettled([queue?.close(), runner.close()]);
      throw error;
    }
  };

  const retire = async (parts: ActingParts): Promise<void> => {
    await parts.dispatcher?.drain();
    await Promise.allSettled([parts.queue?.close(), parts.runner?.close()]);
  };

  let current = await build(start);
  let acting = JSON.stringify([start.devices, start.actions]);
  let pusher: FeedPusher | undefined;
  if (feeds.some((feed) => feed.push !== undefined)) {
    pusher = await startFeedPusher({
      redis,
      keys,
      feeds,
      // The queue in force at each push (a reload may have replaced it).
      enqueue: async (job, enqueueOptions) => {
        if (current.queue === undefined) throw new Error('feed push needs the actions queue: declare the push device under devices:');
        return current.queue.enqueue(job, enqueueOptions);
      },
      logger,
      registry: metrics.registry,
    });
  }
  if (current.queue !== undefined) {
    log.info({ devices: Object.keys(start.devices ?? {}), webhooks: Object.keys(start.actions?.webhooks ?? {}), feeds_pushed: pusher?.feeds ?? [] }, 'enforcement ready');
  }

  return {
    keys,
    feeds,
    onActionAlerts(alerts) {
      if (current.dispatcher !== undefined) {
        current.dispatcher.dispatch(alerts);
        return;
      }
      log.warn({ alerts: alerts.length }, 'threshold actions skipped: no devices or webhooks are declared');
    },
    revocation() {
      return { queue: current.queue, devices: current.resolver, lists };
    },
    async reconfigure(next) {
      const nextActing = JSON.stringify([next.devices, next.actions]);
      if (nextActing === acting) return;
      const replacement = await build(next);
      const old = current;
      current = replacement;
      acting = nextActing;
      log.info({ devices: Object.keys(next.devices ?? {}) }, 'enforcement reconfigured');
      void retire(old).catch((error: unknown) => log.warn({ err: errorMessage(error) }, 'closing the replaced actions queue failed'));
    },
    async close() {
      await pusher?.close();
      await retire(current);
    },
  };
}
