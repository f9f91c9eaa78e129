/*
 * Keys of the product's own state. They live under the queue prefix, so a hash-tag prefix keeps them in
 * the queues' slot on Redis Cluster.
 */

export const sessionCountsKey = (prefix: string) => `${prefix}:qsm:session-counts`;
export const pollLockKey = (prefix: string, schedulerId: string) => `${prefix}:qsm:poll-lock:${schedulerId}`;
export const publishedSnapshotsKey = (prefix: string) => `${prefix}:qsm:mqtt-published`;
export const deliveryMarkerKey = (prefix: string, id: string) => `${prefix}:qsm:delivered:${id}`;
export const discoveryKey = (prefix: string) => `${prefix}:qsm:discovery`;
export const siteIntervalKey = (prefix: string, intervalStart: number) =>
  `${prefix}:qsm:site:${intervalStart}`;
export const siteIntervalDoneKey = (prefix: string, intervalStart: number) =>
  `${prefix}:qsm:site:${intervalStart}:done`;
export const siteIntervalOutboxKey = (prefix: string, intervalStart: number) =>
  `${prefix}:qsm:site:${intervalStart}:outbox`;
export const trackStateKey = (prefix: string, targetId: string) => `${prefix}:qsm:track:state:${targetId}`;
export const trackMetaKey = (prefix: string, targetId: string) => `${prefix}:qsm:track:meta:${targetId}`;
export const trackOutboxKey = (prefix: string, outboxId: string) => `${prefix}:qsm:track:outbox:${outboxId}`;
export const trackRetiredKey = (prefix: string, targetId: string) =>
  `${prefix}:qsm:track:retired:${targetId}`;
export const siteLatestKey = (prefix: string) => `${prefix}:qsm:site:latest`;
export const queueShardKey = (prefix: string) => `${prefix}:qsm:shard`;
