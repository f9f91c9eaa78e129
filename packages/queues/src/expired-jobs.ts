import type { Queue } from 'bullmq';

/**
 * Removes the jobs of a queue that have waited (for a worker, or for their next try) longer than `maxAgeMs`
 * since they were added or last tried, oldest first, and returns their ids: for a sink that takes no jobs
 * while its destination is away, so that its maximum age still bounds what Redis holds.
 */
export async function removeExpiredJobs(queue: Queue, maxAgeMs: number): Promise<string[]> {
  const waiting = await queue.clean(maxAgeMs, 0, 'wait');
  const delayed = await queue.clean(maxAgeMs, 0, 'delayed');
  return [...waiting, ...delayed];
}
