/** The consumer kit: read fortistream's Redis Streams through consumer groups. */
export {
  createStreamConsumer,
  type ConsumerLogger,
  type StreamConsumer,
  type StreamConsumerOptions,
  type StreamConsumerStats,
  type StreamEntry,
  type StreamEntryHandler,
} from './consumer.js';
export { hashTagOf, type ConsumerRedis } from './dead-letter.js';
export { fieldsToRecord } from './stream-replies.js';
