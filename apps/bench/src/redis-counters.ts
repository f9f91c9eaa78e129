import type { Redis } from 'ioredis';

/** Redis's own counters since its start: commands processed and network bytes in and out. */
export interface RedisCounters {
  commands: number;
  bytesIn: number;
  bytesOut: number;
  /** Calls per command (INFO commandstats), commands run inside Lua scripts included. */
  calls: Record<string, number>;
}

/** INFO's `field:value` lines as numbers. */
export function parseInfo(text: string): Record<string, number> {
  const fields: Record<string, number> = {};
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields[line.slice(0, colon)] = Number(line.slice(colon + 1));
  }
  return fields;
}

export async function readRedisCounters(connection: Redis): Promise<RedisCounters> {
  const info = parseInfo(await connection.info('stats'));
  const calls: Record<string, number> = {};
  for (const line of (await connection.info('commandstats')).split('\r\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (match) calls[match[1]!] = Number(match[2]);
  }
  return {
    commands: info.total_commands_processed ?? Number.NaN,
    bytesIn: info.total_net_input_bytes ?? Number.NaN,
    bytesOut: info.total_net_output_bytes ?? Number.NaN,
    calls,
  };
}

/** The commands called most between two readings, per `per` (e.g. per poll), most called first. */
export function topCalls(
  before: RedisCounters,
  after: RedisCounters,
  per: number,
  count = 8,
): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after.calls)
      .map(([name, n]) => [name, (n - (before.calls[name] ?? 0)) / Math.max(1, per)] as const)
      .sort(([, a], [, b]) => b - a)
      .slice(0, count)
      .map(([name, n]) => [name, Math.round(n * 10) / 10]),
  );
}
