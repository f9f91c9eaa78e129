import { stableHash } from '@qsm/model';
import type { QueueShard, ServerSettings, Settings } from './settings.js';

/** `k/N` with whole numbers 1 <= k <= N; undefined (unset) is the whole estate. */
const SHAPE = /^(\d+)\/(\d+)$/;

/** Why a QUEUE_SHARD value is not one, or the shard it names. */
export function parseQueueShard(
  value: string,
): { ok: true; shard: QueueShard } | { ok: false; problem: string } {
  const match = SHAPE.exec(value.trim());
  if (!match)
    return { ok: false, problem: `must be k/N with whole numbers, 1 <= k <= N (e.g. 1/2), not "${value}"` };
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (count < 1) return { ok: false, problem: `N must be at least 1 (got ${value})` };
  if (index < 1 || index > count)
    return { ok: false, problem: `k must be between 1 and N=${count} (got ${value})` };
  if (!Number.isSafeInteger(count)) return { ok: false, problem: `N is too large (got ${value})` };
  return { ok: true, shard: { index, count } };
}

/** `k/N`, or `all` for a deployment that is not sharded: how logs and Redis name a shard. */
export function formatQueueShard(shard: QueueShard | undefined): string {
  return shard === undefined ? 'all' : `${shard.index}/${shard.count}`;
}

/**
 * The shard (1..count) that monitors the server named `serverName`: a stable hash of the name, so every
 * process of every shard, and every restart, agrees, and a server is in exactly one shard.
 */
export function queueShardOf(serverName: string, count: number): number {
  return (stableHash(serverName) % count) + 1;
}

/** Whether this shard monitors `serverName` (every server, when the deployment is not sharded). */
export function inQueueShard(shard: QueueShard | undefined, serverName: string): boolean {
  return shard === undefined || queueShardOf(serverName, shard.count) === shard.index;
}

/**
 * The settings as one shard sees them: only its own servers. Every role works from these, so the
 * scheduler, the session gauge and the site figures all agree on what this shard monitors.
 */
export function settingsForQueueShard(settings: Settings, shard: QueueShard | undefined): Settings {
  if (shard === undefined) return settings;
  const allServers: ServerSettings[] = settings.queueShard?.allServers ?? settings.serversToMonitor.servers;
  return {
    ...settings,
    serversToMonitor: {
      ...settings.serversToMonitor,
      servers: allServers.filter((server) => inQueueShard(shard, server.serverName)),
    },
    queueShard: { shard, allServers },
  };
}
