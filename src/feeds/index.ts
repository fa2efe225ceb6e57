/** Address feeds for FortiGate external connectors: settings, address lists, bodies, push. */
export {
  FEED_DEFAULTS,
  defineFeed,
  feedSettingsSchema,
  feedsSettingsSchema,
  loadFeeds,
  type FeedDefinition,
  type FeedSecrets,
  type FeedSettings,
  type FeedsSettings,
  type FeedSelector,
} from './settings.js';
export {
  LIST_ADDED,
  LIST_REMOVED,
  addToList,
  isListAddress,
  listedAt,
  nextListExpiry,
  readList,
  removeFromList,
  type ListChangeOptions,
} from './address-lists.js';
export { readAddressGroups, readGroupAddresses } from './membership.js';
export {
  createGroupIndex,
  type GroupAddresses,
  type GroupIndex,
  type GroupIndexOptions,
  type GroupIndexStats,
} from './group-index/index.js';
export { addressSortKey, renderFeed, renderSortedFeed, sortAddresses, type RenderedFeed } from './body.js';
export { createFeedSource, type FeedSource, type FeedSourceOptions } from './source.js';
export {
  startFeedPusher,
  type FeedPushCommand,
  type FeedPushEnqueue,
  type FeedPushJob,
  type FeedPusher,
  type FeedPusherOptions,
} from './push.js';
export { FEED_REDIS_COMMANDS } from './redis-commands.js';
