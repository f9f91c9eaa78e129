import type { QueueContext, QueueName } from '@qsm/queues';
import { Queue } from 'bullmq';

/** How many job schedulers of a queue Bull Board's Schedulers view lists. */
export const SCHEDULERS_LISTED_PER_QUEUE = 100;

/**
 * The board's handle on a queue: it lists at most `schedulersListed` job schedulers at a time. Bull
 * Board's Schedulers view asks for every scheduler of every queue, looks up each one's next and last
 * run, and draws them all in one table, without pages, again every polling interval. The poll queue has
 * one scheduler per polled (server, virtual proxy): on a large site the view would not open in useful
 * time and would keep the board and the browser busy while open. The count stays the full one (the
 * queue page's "Schedulers (N)"), and every scheduler's next poll still shows in the Delayed tab.
 */
export class BoardQueue extends Queue {
  constructor(
    name: QueueName,
    context: QueueContext,
    private readonly schedulersListed = SCHEDULERS_LISTED_PER_QUEUE,
  ) {
    super(name, { connection: context.connection, prefix: context.prefix });
    const onError = context.onError;
    // Reported as every other queue's errors are (see openQueue); an unheard 'error' event would throw.
    this.on('error', onError ? (error) => onError(error, name) : () => {});
  }

  override getJobSchedulers(start = 0, end = -1, asc = false) {
    const last = start + this.schedulersListed - 1;
    return super.getJobSchedulers(start, end < 0 || end > last ? last : end, asc);
  }
}
