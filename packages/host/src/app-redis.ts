import type { CommonEnv } from '@qsm/config';
import type { Logger } from '@qsm/logging';
import { redactUrl } from '@qsm/net';
import {
  type ConnectionRole,
  clusterSettingProblem,
  createRedisConnection,
  evictionWarning,
  onRedisStateChange,
  type RedisConnection,
  type RedisTlsFiles,
  readMemoryPolicy,
  redisFailureHint,
} from '@qsm/redis';

export type RedisEnv = Pick<
  CommonEnv,
  | 'REDIS_URL'
  | 'REDIS_CA_FILE'
  | 'REDIS_CERT_FILE'
  | 'REDIS_KEY_FILE'
  | 'REDIS_REJECT_UNAUTHORIZED'
  | 'REDIS_CLUSTER'
>;

export interface AppRedisSettings {
  /** The app's role, in the client name Redis shows (`qsm-poller`). */
  role: string;
  connectionRole: ConnectionRole;
  env: RedisEnv;
  logger: Logger;
  /** The Redis found cannot serve this app (a cluster node without REDIS_CLUSTER, or the reverse). */
  onFatal(message: string): void;
}

export interface AppRedis {
  connection: RedisConnection;
  /** Drops the connection at once, without an outage line: a start that cannot go on. */
  disconnect(): void;
  /** Ends the connection cleanly, without an outage line: our own quit is no outage. */
  close(): Promise<void>;
}

/**
 * The app's Redis connection. Redis going away and coming back is logged once each; at every connect
 * the cluster setting and the eviction policy are checked, as the Redis that comes back after an outage
 * may not be the one that left.
 */
export function connectAppRedis(settings: AppRedisSettings): AppRedis {
  const { env, logger } = settings;
  const redis = redactUrl(env.REDIS_URL);
  const tls: RedisTlsFiles = {
    caFile: env.REDIS_CA_FILE,
    certFile: env.REDIS_CERT_FILE,
    keyFile: env.REDIS_KEY_FILE,
    rejectUnauthorized: env.REDIS_REJECT_UNAUTHORIZED,
  };
  const connection = createRedisConnection(
    env.REDIS_URL,
    settings.connectionRole,
    `qsm-${settings.role}`,
    tls,
    env.REDIS_CLUSTER,
  );
  const stopWatching = onRedisStateChange(connection, (state, detail) => {
    if (state === 'up') {
      logger.info({ redis }, 'redis connected');
      clusterSettingProblem(connection, env.REDIS_CLUSTER).then(
        (problem) => {
          if (problem) settings.onFatal(problem);
        },
        (error: unknown) => logger.debug({ err: error }, 'cannot check the cluster setting on this connect'),
      );
      readMemoryPolicy(connection).then(
        (memory) => {
          const warning = memory && evictionWarning(memory);
          if (warning) logger.warn({ redis, ...memory }, warning);
        },
        (error: unknown) => logger.debug({ err: error }, 'cannot read the memory policy on this connect'),
      );
    } else {
      const hint = redisFailureHint(env.REDIS_URL, tls, detail);
      logger.warn(
        { redis, reason: detail, ...(hint ? { hint } : {}) },
        'redis unavailable; waiting for it to come back',
      );
    }
  });
  return {
    connection,
    disconnect() {
      stopWatching();
      connection.disconnect();
    },
    async close() {
      stopWatching();
      // QUIT waits for Redis's answer; while Redis is away there is nobody to wait for.
      if (connection.status !== 'ready') return connection.disconnect();
      await connection.quit().catch((error: unknown) => {
        logger.debug({ err: error }, 'redis QUIT failed; disconnecting');
        connection.disconnect();
      });
    },
  };
}
