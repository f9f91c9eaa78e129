import type { RedisConnection } from './connection.js';
import { deliveryMarkerKey } from './keys.js';

/**
 * How long a delivery marker lives. A retried poll runs within seconds of its first attempt (BullMQ's
 * retry delay), or once its lock expired after a poller died (WORKER_LOCK_MS); a poll later than its
 * interval is skipped as stale anyway.
 */
export const DELIVERY_MARKER_TTL_MS = 15 * 60_000;

export interface DeliveryMarkers {
  /** Records that the records of these polls went out in a group. */
  mark(ids: string[]): Promise<void>;
  /** Whether the record of this poll went out in a group. */
  has(id: string): Promise<boolean>;
}

/**
 * Which polls' records went out in a group, where no job id is the poll's own: the poller asks before it
 * polls again for a retried job, so that a retried poll does not deliver twice. A record that went out
 * alone needs no marker: its job id is derived from the poll, and BullMQ keeps the first.
 */
export function createDeliveryMarkers(connection: RedisConnection, prefix: string): DeliveryMarkers {
  const key = (id: string) => deliveryMarkerKey(prefix, id);
  return {
    async mark(ids) {
      if (ids.length === 0) return;
      const pipeline = connection.pipeline();
      for (const id of ids) pipeline.set(key(id), '1', 'PX', DELIVERY_MARKER_TTL_MS);
      const replies = await pipeline.exec();
      const failed = replies?.find(([error]) => error);
      if (failed) throw failed[0];
    },
    async has(id) {
      return (await connection.exists(key(id))) === 1;
    },
  };
}
