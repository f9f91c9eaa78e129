import type { RedisConnection } from './connection.js';
import { discoveryKey } from './keys.js';

/**
 * What discovery keeps in Redis, as JSON text (the roles check it against their schemas): the last good
 * read of the Qlik repository, so that a scheduler that restarts while the repository is down still
 * polls what it found before; and the discovered targets in force, which every poller's session gauge
 * labels its series with. Nothing expires: a target leaves only when a good read no longer lists it.
 */
export interface DiscoveryStore {
  saveTopology(json: string): Promise<void>;
  /** Null when discovery never read the repository successfully with this prefix. */
  loadTopology(): Promise<string | null>;
  saveTargets(json: string): Promise<void>;
  loadTargets(): Promise<string | null>;
}

export function createDiscoveryStore(connection: RedisConnection, prefix: string): DiscoveryStore {
  const key = discoveryKey(prefix);
  return {
    async saveTopology(json) {
      await connection.hset(key, 'topology', json);
    },
    loadTopology: () => connection.hget(key, 'topology'),
    async saveTargets(json) {
      await connection.hset(key, 'targets', json);
    },
    loadTargets: () => connection.hget(key, 'targets'),
  };
}
