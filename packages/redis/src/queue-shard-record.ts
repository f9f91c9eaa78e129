import type { RedisConnection } from './connection.js';
import { queueShardKey } from './keys.js';

/**
 * Two queue shards on one QUEUE_PREFIX would each remove the other's job schedulers (a scheduler removes
 * every product-made scheduler it does not want). The first scheduler records its shard under the
 * prefix; one of another shard then refuses to work there.
 */
export class QueueShardConflict extends Error {
  constructor(
    readonly prefix: string,
    readonly mine: string,
    readonly recorded: string,
  ) {
    super(
      `QUEUE_SHARD=${mine} but queue prefix ${prefix} belongs to shard ${recorded} (${queueShardKey(prefix)}): ` +
        `give each shard its own QUEUE_PREFIX, or, when re-sharding on purpose, stop the schedulers of ${prefix} ` +
        `and delete ${queueShardKey(prefix)} (or all of ${prefix}'s keys)`,
    );
    this.name = 'QueueShardConflict';
  }
}

/** Whether a scheduler of shard `mine` may work on a prefix whose recorded shard is `recorded`. */
export function queueShardDecision(
  recorded: string | null,
  mine: string,
): { ok: true } | { ok: false; recorded: string } {
  // Null: the key went away between SET NX and GET (deleted on purpose); the next check records it again.
  if (recorded === null || recorded === mine) return { ok: true };
  return { ok: false, recorded };
}

/**
 * Records `shard` (`k/N`, or `all`) for the prefix unless a shard is recorded already; throws
 * QueueShardConflict when that is another one. Redis errors (Redis away) reject as they are.
 */
export async function claimQueueShard(
  connection: RedisConnection,
  prefix: string,
  shard: string,
): Promise<void> {
  const key = queueShardKey(prefix);
  if ((await connection.set(key, shard, 'NX')) === 'OK') return;
  const decision = queueShardDecision(await connection.get(key), shard);
  if (!decision.ok) throw new QueueShardConflict(prefix, shard, decision.recorded);
}
