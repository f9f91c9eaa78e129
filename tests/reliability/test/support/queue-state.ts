import { openQueue, type QueueDepth, type QueueName, queueDepth } from '@qsm/queues';
import { services } from '@qsm/testkit';
import { Redis } from 'ioredis';

/** Job counts of one queue of a test's prefix. */
export async function queueCounts(
  prefix: string,
  queue: QueueName,
  url = services.redisUrl,
): Promise<QueueDepth> {
  const connection = new Redis(url, { maxRetriesPerRequest: 1 });
  const q = openQueue({ connection, prefix }, queue);
  try {
    return await queueDepth(q);
  } finally {
    await q.close();
    connection.disconnect();
  }
}

/** True when nothing waits, runs or is scheduled for a retry in `queue`. */
export async function queueDrained(
  prefix: string,
  queue: QueueName,
  url = services.redisUrl,
): Promise<boolean> {
  const counts = await queueCounts(prefix, queue, url);
  return counts.waiting + counts.active + counts.delayed === 0;
}
