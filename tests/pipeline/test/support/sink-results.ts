import type { PollResult } from '@qsm/model';
import type { createResultDelivery, DeliveryReceipt } from '@qsm/queues';
import { type QUEUE, resultJobId } from '@qsm/queues';
import { samplePollResult } from '@qsm/testkit';

/** A result of one poll of server sense1 (QPS sense1.lab:4243), as a poller delivers it to the sinks. */
export function pollResult(virtualProxy: string, polledAt: number, users: string[]): PollResult {
  const sessions = users.map((UserId, i) => ({
    UserDirectory: 'LAB',
    UserId,
    SessionId: `${UserId}-${i}`,
    Attributes: [],
  }));
  return samplePollResult(sessions, { virtualProxy, polledAt, durationMs: 3 });
}

/** Adds results to a sink queue the way a poller does (job id from the poll), for tests of a sink alone. */
export function sendResults(
  delivery: ReturnType<typeof createResultDelivery>,
  queue: typeof QUEUE.influx | typeof QUEUE.mqtt,
  results: PollResult[],
): Promise<DeliveryReceipt> {
  return delivery.deliver(results.map((r) => ({ queue, id: resultJobId(r, r.polledAt), data: r })));
}
