import { duplicateConnection } from '@qsm/redis';
import { QueueEvents } from 'bullmq';
import type { QueueName } from './catalog.js';
import type { QueueContext } from './queue-context.js';

/**
 * Calls `listener` for every job of `queue` that completes, in any process, with its return value
 * (from BullMQ's event stream). For measurements; close the returned watcher when done.
 */
export async function watchCompletedJobs(
  context: QueueContext,
  queue: QueueName,
  listener: (jobId: string, returnValue: unknown) => void,
): Promise<{ close(): Promise<void> }> {
  const events = new QueueEvents(queue, {
    connection: duplicateConnection(context.connection),
    prefix: context.prefix,
  });
  events.on('completed', ({ jobId, returnvalue }) => {
    listener(jobId, typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue);
  });
  await events.waitUntilReady();
  return { close: () => events.close() };
}
