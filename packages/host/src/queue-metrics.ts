import type { Logger } from '@qsm/logging';
import { ALL_QUEUES, openQueue, type QueueContext, queueDepth } from '@qsm/queues';
import { Gauge, type Registry } from 'prom-client';

/**
 * `qsm_queue_jobs{queue, state}`: waiting, active, delayed and failed jobs of every queue, read from
 * Redis when Prometheus scrapes. Every app exports it; the values are the same everywhere. A queue whose
 * depth cannot be read (Redis went away during the scrape) is left out of that scrape, with a debug line.
 */
export function registerQueueDepthMetrics(registry: Registry, context: QueueContext, logger: Logger): void {
  if (registry.getSingleMetric('qsm_queue_jobs')) return;
  const queues = ALL_QUEUES.map((name) => openQueue(context, name));
  new Gauge({
    name: 'qsm_queue_jobs',
    help: 'Jobs per queue and state (waiting, active, delayed, failed), read from Redis at scrape time.',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      if (context.connection.status !== 'ready') return;
      // All queues at once: read one after another, each read waited for its own turn of a busy event loop.
      const depths = await Promise.all(
        queues.map((queue) =>
          queueDepth(queue).catch((error: unknown) => {
            logger.debug(
              { err: error, queue: queue.name },
              'cannot read the queue depth; left out of this scrape',
            );
            return undefined;
          }),
        ),
      );
      depths.forEach((depth, i) => {
        if (!depth) return;
        for (const state of ['waiting', 'active', 'delayed', 'failed'] as const) {
          this.set({ queue: queues[i]!.name, state }, depth[state]);
        }
      });
    },
  });
}
