import { readFileSync } from 'node:fs';
import { redactUrl } from '@qsm/net';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

export type { Cluster, Redis } from 'ioredis';

/** A connection to one Redis, or to a Redis Cluster (REDIS_CLUSTER): BullMQ and our scripts take either. */
export type RedisConnection = Redis | Cluster;

export type ConnectionRole =
  /** Long-lived BullMQ workers: commands wait for a reconnect instead of failing (BullMQ requires this). */
  | 'worker'
  /** Producers and one-off commands: fail fast while Redis is away, so callers can report it. */
  | 'producer';

/** TLS beyond what a `rediss://` URL says: a private CA, a client certificate. */
export interface RedisTlsFiles {
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
  rejectUnauthorized?: boolean | undefined;
}

/**
 * A Redis connection from `REDIS_URL` (`redis://[:password@]host:port[/db]`, `rediss://` for TLS).
 * It reconnects forever with a capped backoff; callers watch its state with `onRedisStateChange`.
 * With `cluster`, REDIS_URL names one node of a Redis Cluster, from which the client learns the others
 * and which node holds which keys; its password and TLS settings apply to every node.
 */
export function createRedisConnection(
  url: string,
  role: ConnectionRole,
  name: string,
  tls: RedisTlsFiles = {},
  cluster = false,
): RedisConnection {
  const retry = (times: number) => Math.min(250 * 2 ** Math.min(times, 5), 5000);
  const options = {
    // Given, the options replace ioredis's `tls: true` for rediss://; BullMQ's duplicates keep them.
    ...(url.startsWith('rediss:') ? { tls: redisTlsOptions(tls) } : {}),
    connectionName: name.replace(/\s+/g, '-'),
    // BullMQ is tested against RESP2 replies; ioredis 6 defaults to RESP3.
    protocol: 2 as const,
    ...(role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : { maxRetriesPerRequest: 1, commandTimeout: 5000 }),
  } satisfies RedisOptions;
  if (!cluster)
    return new Redis(url, { ...options, lazyConnect: false, enableOfflineQueue: true, retryStrategy: retry });
  const seed = new URL(url);
  const clusterOptions: ClusterOptions = {
    clusterRetryStrategy: retry,
    enableOfflineQueue: true,
    enableReadyCheck: true,
    redisOptions: {
      ...options,
      ...(seed.username ? { username: decodeURIComponent(seed.username) } : {}),
      ...(seed.password ? { password: decodeURIComponent(seed.password) } : {}),
    },
  };
  return new Cluster(
    [{ host: seed.hostname.replace(/^\[|\]$/g, ''), port: Number(seed.port || 6379) }],
    clusterOptions,
  );
}

/**
 * The mistake of pointing REDIS_URL at a node of a Redis Cluster without REDIS_CLUSTER, as a message that
 * names the fix; undefined otherwise. A single-node client of a cluster works only while that node holds
 * every key it uses (MOVED otherwise). The reverse mistake never connects: redisFailureHint covers it.
 */
export async function clusterSettingProblem(
  connection: RedisConnection,
  cluster: boolean,
): Promise<string | undefined> {
  if (cluster) return undefined;
  const info = await connection.info('cluster');
  return /^cluster_enabled:1\s*$/m.test(info)
    ? 'REDIS_URL is a node of a Redis Cluster: set REDIS_CLUSTER=true, and a QUEUE_PREFIX with a hash tag ({qsm})'
    : undefined;
}

/**
 * What a failure to reach Redis over TLS most likely means, for the log line that reports it: a Redis
 * with TLS asks for a client certificate unless told not to, and resets the connection of a client
 * without one; a private CA is not among Node's.
 */
export function redisFailureHint(url: string, tls: RedisTlsFiles, reason: string): string | undefined {
  if (/cluster support disabled|refresh slots cache/i.test(reason)) {
    return 'if REDIS_URL is a single Redis, not a node of a Redis Cluster: unset REDIS_CLUSTER';
  }
  if (!url.startsWith('rediss:')) return undefined;
  if (!tls.certFile && /ECONNRESET|EPIPE|certificate required/i.test(reason)) {
    return 'if this Redis asks for client certificates (tls-auth-clients yes, its default with TLS): set REDIS_CERT_FILE and REDIS_KEY_FILE';
  }
  if (!tls.caFile && /self[- ]signed|unable to (get|verify)|local issuer/i.test(reason)) {
    return "set REDIS_CA_FILE to the CA that signed Redis's certificate";
  }
  return undefined;
}

function redisTlsOptions(files: RedisTlsFiles): NonNullable<RedisOptions['tls']> {
  return {
    rejectUnauthorized: files.rejectUnauthorized ?? true,
    ...(files.caFile ? { ca: readFileSync(files.caFile) } : {}),
    ...(files.certFile ? { cert: readFileSync(files.certFile) } : {}),
    ...(files.keyFile ? { key: readFileSync(files.keyFile) } : {}),
  };
}

export type RedisState = 'up' | 'down';

/**
 * Calls `listener` once per change between up and down, not once per reconnect attempt: a Redis outage
 * is one log line when it starts and one when it ends.
 */
export function onRedisStateChange(
  connection: RedisConnection,
  listener: (state: RedisState, detail: string) => void,
): () => void {
  let state: RedisState | undefined = connection.status === 'ready' ? 'up' : undefined;
  let lastError = '';
  const set = (next: RedisState, detail: string) => {
    if (state === next) return;
    state = next;
    listener(next, detail);
  };
  const onReady = () => set('up', 'connected');
  const onError = (error: Error) => {
    lastError = error.message;
  };
  const onClose = () => set('down', lastError || 'connection closed');
  connection.on('ready', onReady);
  connection.on('error', onError);
  connection.on('close', onClose);
  return () => {
    connection.off('ready', onReady);
    connection.off('error', onError);
    connection.off('close', onClose);
  };
}

/** Waits until the connection is ready, or rejects after `timeoutMs` with a message that says how to fix it. */
export async function waitForRedis(
  connection: RedisConnection,
  url: string,
  timeoutMs: number,
): Promise<void> {
  if (connection.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    let lastError = '';
    const onError = (error: Error) => {
      lastError = error.message;
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new Error(
          `Redis is not reachable at ${redactUrl(url)} after ${timeoutMs} ms${lastError ? ` (${lastError})` : ''}: ` +
            'start one (bash scripts/services.sh start) or set REDIS_URL',
        ),
      );
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      connection.off('ready', onReady);
      connection.off('error', onError);
    };
    connection.on('ready', onReady);
    connection.on('error', onError);
  });
}

/** A new connection with the same settings (for a blocking reader such as QueueEvents). */
export function duplicateConnection(connection: RedisConnection): RedisConnection {
  return connection instanceof Cluster ? connection.duplicate() : connection.duplicate();
}

/** Options that make a connection wait for Redis instead of failing fast: BullMQ workers require this. */
const WAITING_OPTIONS = { maxRetriesPerRequest: null, commandTimeout: undefined } satisfies RedisOptions;

/**
 * A connection that BullMQ workers accept, for a role that otherwise only produces (the scheduler, which
 * also runs the discovery worker): `connection` itself when it already waits for reconnects, else a
 * duplicate that does. The caller closes a duplicate (`owned`) when it is done.
 */
export function workerConnectionFrom(connection: RedisConnection): {
  connection: RedisConnection;
  owned: boolean;
} {
  if (connection instanceof Cluster) {
    const redisOptions = connection.options.redisOptions ?? {};
    if (redisOptions.maxRetriesPerRequest === null) return { connection, owned: false };
    return {
      connection: connection.duplicate(undefined, { redisOptions: { ...redisOptions, ...WAITING_OPTIONS } }),
      owned: true,
    };
  }
  if (connection.options.maxRetriesPerRequest === null) return { connection, owned: false };
  return { connection: connection.duplicate(WAITING_OPTIONS), owned: true };
}
