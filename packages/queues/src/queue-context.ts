import type { RedisConnection } from '@qsm/redis';
import { Queue } from 'bullmq';
import type { QueueName } from './catalog.js';

/** A Redis connection and the BullMQ key prefix every queue of one deployment shares. */
export interface QueueContext {
  connection: RedisConnection;
  prefix: string;
}

/**
 * A queue handle. Its connection errors are not reported here: the app reports Redis going away and coming
 * back once each (onRedisStateChange), where an unheard 'error' event would print a stack per reconnect.
 */
export function openQueue<T = unknown>(context: QueueContext, name: QueueName): Queue<T> {
  const queue = new Queue<T>(name, { connection: context.connection, prefix: context.prefix });
  queue.on('error', () => {});
  return queue;
}
