import type { RedisConnection } from '@qsm/redis';
import { Queue } from 'bullmq';
import type { QueueName } from './catalog.js';

/** A Redis connection and the BullMQ key prefix every queue of one deployment shares. */
export interface QueueContext {
  connection: RedisConnection;
  prefix: string;
  /**
   * Hears the 'error' events of every queue and flow producer opened on this context. The host passes one
   * that writes a debug line; Redis going away and coming back is reported once each elsewhere
   * (onRedisStateChange).
   */
  onError?: (error: Error, source: QueueName | 'flows') => void;
}

/**
 * A queue handle. Its connection errors go to the context's `onError`, not to an unheard 'error' event,
 * which would print a stack per reconnect. Without `onError` (tests, tools) they are ignored: the app
 * reports Redis going away and coming back once each (onRedisStateChange).
 */
export function openQueue<T = unknown>(context: QueueContext, name: QueueName): Queue<T> {
  const queue = new Queue<T>(name, { connection: context.connection, prefix: context.prefix });
  const onError = context.onError;
  queue.on('error', onError ? (error) => onError(error, name) : ignoreQueueError);
  return queue;
}

/** The listener of contexts without `onError`: an 'error' event needs one, or Node throws it. */
function ignoreQueueError(): void {}
