import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { probeTcp } from '@qsm/net';
import { Redis } from 'ioredis';

export interface Endpoint {
  name: 'redis' | 'mosquitto' | 'influxdb';
  host: string;
  port: number;
}

export async function reachable(
  endpoint: Pick<Endpoint, 'host' | 'port'>,
  timeoutMs = 1000,
): Promise<boolean> {
  return (await probeTcp(endpoint.host, endpoint.port, timeoutMs)).reachable;
}

/** Why Redis at `url` does not answer PING, or undefined when it does. */
export async function redisProblem(url: string): Promise<string | undefined> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2000,
  });
  // Each failure also rejects connect() or ping(), whose error is returned: the listener only keeps
  // ioredis from reporting it a second time as an unhandled 'error' event.
  redis.on('error', () => {});
  try {
    await redis.connect();
    const answer = await redis.ping();
    return answer === 'PONG' ? undefined : `PING answered ${answer}`;
  } catch (error) {
    return (error as Error).message;
  } finally {
    redis.disconnect();
  }
}

/**
 * Starts a local service with the repository's services script (Debian packages), when the script is
 * there and allowed to; returns whether it did. Its output goes to the demo's log, not the terminal.
 */
export function startWithServicesScript(repoRoot: string, service: Endpoint['name']): boolean {
  const script = path.join(repoRoot, 'scripts', 'services.sh');
  if (!existsSync(script)) return false;
  const result = spawnSync('bash', [script, 'start', service], { encoding: 'utf8', timeout: 120_000 });
  return result.status === 0;
}
