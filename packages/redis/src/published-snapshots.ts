import { registerCommands } from './commands.js';
import type { RedisConnection } from './connection.js';
import { publishedSnapshotsKey } from './keys.js';

export interface PublishedSnapshots {
  /**
   * Claims `topic` for the snapshot of `polledAt`: false when a newer snapshot was claimed already (do not
   * publish), true otherwise, recording `polledAt` in the same step. A snapshot whose publish failed may
   * claim again (same poll time), unless a newer one came in between.
   */
  claim(topic: string, polledAt: number): Promise<boolean>;
}

/** Which snapshot each MQTT topic carries, shared by every MQTT sink process. */
export function createPublishedSnapshots(connection: RedisConnection, prefix: string): PublishedSnapshots {
  const redis = registerCommands(connection);
  const key = publishedSnapshotsKey(prefix);
  return {
    async claim(topic, polledAt) {
      return (await redis.qsmClaimIfNotOlder(key, topic, String(polledAt))) === 1;
    },
  };
}
