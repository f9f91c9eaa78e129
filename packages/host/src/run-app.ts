import { formatQueueShard } from '@qsm/config';
import { createLogger } from '@qsm/logging';
import type { QueueContext } from '@qsm/queues';
import type { z } from 'zod';
import type { AppDefinition, RunningApp } from './app-definition.js';
import { readAppEnvironment } from './app-environment.js';
import { connectAppRedis } from './app-redis.js';
import { createAppStop } from './app-stop.js';
import { createConfigReloader, reloadOnChangeAndSighup } from './config-reload.js';
import { exitNow, exitProcess } from './exit-process.js';
import { applyHeapGrowingPercent } from './heap-growth.js';
import { listenFailure } from './listen-failure.js';
import { createAppMetrics } from './metrics-registry.js';
import { type OpsServer, startOpsServer } from './ops-server.js';
import { logProcessFaults } from './process-faults.js';
import { applyNiceOrWarn, processSettings } from './process-settings.js';
import { registerQueueDepthMetrics } from './queue-metrics.js';
import { appReadiness } from './readiness.js';
import type { ProcessContext, RunningRole } from './role.js';
import { stopOnSignals } from './signals.js';
import { loadStartConfig } from './start-config.js';
import { startRoles } from './start-roles.js';

const exit = (code: number) => void exitProcess(code);

/**
 * The life of every app process: settings from the environment and the config file (clear errors and
 * exit 1 when they are wrong), logger, Redis, the operations endpoint, the roles, config reloads on file
 * change and SIGHUP, and a bounded shutdown on SIGTERM/SIGINT.
 */
export async function runApp<S extends z.ZodType>(definition: AppDefinition<S>): Promise<RunningApp> {
  const env = readAppEnvironment(definition.env);
  const { heapGrowingPercent, nice } = processSettings(env, definition);
  applyHeapGrowingPercent(heapGrowingPercent);
  const logger = createLogger({ role: definition.role, level: env.LOG_LEVEL, format: env.LOG_FORMAT });
  logProcessFaults(logger, exit);
  applyNiceOrWarn(nice, logger);

  const checkCertificates = definition.config === 'required' && definition.checkCertificates;
  const config = loadStartConfig({
    config: definition.config,
    checkCertificates,
    queueShard: env.QUEUE_SHARD,
    logger,
  });
  if (config.kind === 'invalid') return exitNow(1);

  const redis = connectAppRedis({
    role: definition.role,
    connectionRole: definition.connection,
    env,
    logger,
    onFatal: (message) => abortStart(message),
  });
  /** A start that cannot go on: one fatal line (our own disconnect is no outage), exit 1. */
  const abortStart = (message: string, error?: unknown): never => {
    logger.fatal(error === undefined ? {} : { err: error }, `cannot start: ${message}`);
    redis.disconnect();
    return exitNow(1);
  };
  const queues: QueueContext = {
    connection: redis.connection,
    prefix: env.QUEUE_PREFIX,
    onError: (error, queue) => logger.debug({ err: error, queue }, 'queue connection error'),
  };
  const { registry, texts: metricsTexts } = createAppMetrics(definition.role);
  let roles: RunningRole[] = [];

  const httpPort = env.HTTP_PORT ?? definition.defaultHttpPort;
  let ops: OpsServer;
  try {
    ops = await startOpsServer({
      host: env.HTTP_HOST,
      port: httpPort,
      registry,
      texts: metricsTexts,
      readiness: appReadiness(redis.connection, () => roles),
    });
  } catch (error) {
    const at = { host: env.HTTP_HOST, port: httpPort, hostVariable: 'HTTP_HOST', portVariable: 'HTTP_PORT' };
    return abortStart(listenFailure(error, at).message);
  }
  registerQueueDepthMetrics(registry, queues, logger);

  const file = config.kind === 'loaded' ? config.file : undefined;
  const reloader =
    file === undefined
      ? undefined
      : createConfigReloader({
          file,
          checkCertificates,
          queueShard: env.QUEUE_SHARD,
          logger,
          roles: () => roles,
        });
  let stopWatchingConfig = () => {};
  // Signals are handled from here on: a stop that comes while the roles are still starting (Redis away,
  // so the first commands wait) is a clean stop, not a kill.
  const appStop = createAppStop({
    logger,
    timeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    exit,
    steps: () => [
      {
        name: 'config watch',
        run() {
          stopWatchingConfig();
          reloader?.close();
        },
      },
      ...[...roles].reverse().map((role) => ({ name: role.name, run: () => role.stop() })),
      { name: 'ops endpoint', run: () => ops.close() },
      { name: 'redis', run: () => redis.close() },
    ],
  });
  stopOnSignals(appStop, logger, exit);

  const app: RunningApp = { logger, httpPort: ops.port, stop: (reason) => appStop.stop(reason) };
  const base: ProcessContext = {
    logger,
    registry,
    metricsTexts,
    queues,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    workerLockMs: env.WORKER_LOCK_DURATION_MS,
  };
  try {
    roles = await startRoles(definition, base, config.kind === 'loaded' ? config.settings : undefined, env);
  } catch (error) {
    if (!appStop.stopping) {
      await ops.close();
      return abortStart((error as Error).message, error);
    }
  }
  // A stop began while the roles were starting: the process is on its way out.
  if (appStop.stopping) return app;

  if (file !== undefined && reloader) stopWatchingConfig = reloadOnChangeAndSighup(file, reloader);
  logger.info(
    {
      httpPort: ops.port,
      config: file,
      queuePrefix: env.QUEUE_PREFIX,
      queueShard: formatQueueShard(env.QUEUE_SHARD),
      roles: roles.map((r) => r.name),
      heapGrowingPercent: heapGrowingPercent || "V8's own",
    },
    `${definition.role} started`,
  );
  return app;
}
