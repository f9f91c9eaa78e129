import type { RedisConnection } from './connection.js';
import { sessionCountsKey } from './keys.js';

export interface SessionCounts {
  /** The session count of the last successful poll of a (server, virtual proxy). */
  record(schedulerId: string, count: number): Promise<void>;
  all(): Promise<Map<string, number>>;
}

/** The latest session count of every polled proxy, shared by all pollers (for the Prometheus gauge). */
export function createSessionCounts(connection: RedisConnection, prefix: string): SessionCounts {
  const key = sessionCountsKey(prefix);
  return {
    async record(schedulerId, count) {
      await connection.hset(key, schedulerId, String(count));
    },
    async all() {
      const values = await connection.hgetall(key);
      return new Map(Object.entries(values).map(([id, count]) => [id, Number(count)]));
    },
  };
}
