import { writeSync } from 'node:fs';
import {
  type CommonEnv,
  ConfigError,
  type ConfigProblem,
  commonEnvSchema,
  configFilePath,
  formatProblem,
  loadConfigFile,
  readEnvironment,
  type Settings,
} from '@qsm/config';
import { createLogger, type Logger } from '@qsm/logging';
import type { QueueContext } from '@qsm/queues';
import {
  type ConnectionRole,
  clusterSettingProblem,
  createRedisConnection,
  evictionWarning,
  onRedisStateChange,
  type RedisTlsFiles,
  readMemoryPolicy,
  redactUrl,
  redisFailureHint,
} from '@qsm/redis';
import type { z } from 'zod';
import { exitProcess } from './exit-process.js';
import { applyHeapGrowingPercent } from './heap-growth.js';
import { listenFailure } from './listen-failure.js';
import { createMetricsRegistry } from './metrics-registry.js';
import { type OpsServer, startOpsServer } from './ops-server.js';
import { applyProcessNice } from './process-priority.js';
import { registerQueueDepthMetrics } from './queue-metrics.js';
import type { ProcessContext, RoleContext, RunningRole } from './role.js';
import { handleShutdownSignals, logProcessFaults } from './shutdown.js';
import { watchConfigFile } from './watch-file.js';

interface AppBasics<S extends z.ZodType> {
  /** On every log line and metric (`scheduler`, `poller`, ...). */
  role: string;
  /** Where /healthz, /readyz and /metrics listen unless HTTP_PORT says otherwise. */
  defaultHttpPort: number;
  /** Producers fail fast while Redis is away; workers wait for it. */
  connection: ConnectionRole;
  /** The app's own environment variables, besides the common ones. */
  env: S;
  /**
   * Niceness unless PROCESS_NICE says otherwise. Sinks yield the CPU to pollers: a poll's timing is its
   * sample time, while a delivery that waits a few hundred ms loses nothing.
   */
  defaultNice?: number;
  /** V8's old-generation growth unless HEAP_GROWING_PERCENT says otherwise (0 or unset: V8's own). */
  defaultHeapGrowingPercent?: number;
}

export type AppDefinition<S extends z.ZodType> = AppBasics<S> &
  (
    | {
        /** The app works from the Butler SOS config file (CONFIG_FILE / --config). */
        config: 'required';
        /** Read the certificate files at start (the apps that call QPS). */
        checkCertificates: boolean;
        start(context: RoleContext, env: z.output<S> & CommonEnv): Promise<RunningRole[]>;
      }
    | {
        /** The app needs Redis only (the board). */
        config: 'none';
        start(context: ProcessContext, env: z.output<S> & CommonEnv): Promise<RunningRole[]>;
      }
  );

export interface RunningApp {
  logger: Logger;
  httpPort: number;
  stop(reason: string): Promise<void>;
}

/**
 * The life of every app process: settings from the environment and the config file (clear errors and
 * exit 1 when they are wrong), logger, Redis, the operations endpoint, the roles, config reloads on file
 * change and SIGHUP, and a bounded shutdown on SIGTERM/SIGINT.
 */
export async function runApp<S extends z.ZodType>(definition: AppDefinition<S>): Promise<RunningApp> {
  const env = readAppEnvironment(definition.env);
  const heapGrowingPercent = env.HEAP_GROWING_PERCENT ?? definition.defaultHeapGrowingPercent ?? 0;
  applyHeapGrowingPercent(heapGrowingPercent);
  const logger = createLogger({ role: definition.role, level: env.LOG_LEVEL, format: env.LOG_FORMAT });
  logProcessFaults(logger);
  const priority = applyProcessNice(env.PROCESS_NICE ?? definition.defaultNice ?? 0);
  if (!priority.applied) {
    logger.warn(
      { nice: priority.nice, current: priority.current, reason: priority.reason },
      'cannot change the process priority (raising it needs CAP_SYS_NICE); running at the current one',
    );
  }

  const checkCertificates = definition.config === 'required' && definition.checkCertificates;
  let configFile: string | undefined;
  let settings: Settings | undefined;
  if (definition.config === 'required') {
    try {
      configFile = configFilePath(process.argv.slice(2), process.env);
      const loaded = loadConfigFile(configFile, { checkCertificates });
      settings = loaded.settings;
      logWarnings(logger, loaded.warnings);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const problem of error.problems) {
        logger.error({ path: problem.path, source: error.source }, formatProblem(problem));
      }
      logger.fatal(`${error.problems.length} config problem(s) in ${error.source}: not starting`);
      return exitNow(1);
    }
  }

  const redisTls: RedisTlsFiles = {
    caFile: env.REDIS_CA_FILE,
    certFile: env.REDIS_CERT_FILE,
    keyFile: env.REDIS_KEY_FILE,
    rejectUnauthorized: env.REDIS_REJECT_UNAUTHORIZED,
  };
  const connection = createRedisConnection(
    env.REDIS_URL,
    definition.connection,
    `qsm-${definition.role}`,
    redisTls,
    env.REDIS_CLUSTER,
  );
  const stopWatchingRedis = onRedisStateChange(connection, (state, detail) => {
    if (state === 'up') {
      logger.info({ redis: redactUrl(env.REDIS_URL) }, 'redis connected');
      // Checked at every connect: the Redis that comes back after an outage may not be the one that left.
      void clusterSettingProblem(connection, env.REDIS_CLUSTER).then((problem) => {
        if (problem) abortStart(problem);
      });
      void readMemoryPolicy(connection).then((memory) => {
        const warning = memory && evictionWarning(memory);
        if (warning) logger.warn({ redis: redactUrl(env.REDIS_URL), ...memory }, warning);
      });
    } else {
      const hint = redisFailureHint(env.REDIS_URL, redisTls, detail);
      logger.warn(
        { redis: redactUrl(env.REDIS_URL), reason: detail, ...(hint ? { hint } : {}) },
        'redis unavailable; waiting for it to come back',
      );
    }
  });
  const queues: QueueContext = {
    connection,
    prefix: env.QUEUE_PREFIX,
    onError: (error, queue) => logger.debug({ err: error, queue }, 'queue connection error'),
  };
  const registry = createMetricsRegistry(definition.role);
  let roles: RunningRole[] = [];
  /** A start that cannot go on: one fatal line (our own disconnect is no outage), exit 1. */
  const abortStart = (message: string, error?: unknown): never => {
    logger.fatal(error === undefined ? {} : { err: error }, `cannot start: ${message}`);
    stopWatchingRedis();
    connection.disconnect();
    return exitNow(1);
  };

  const httpPort = env.HTTP_PORT ?? definition.defaultHttpPort;
  let ops: OpsServer;
  try {
    ops = await startOpsServer({
      host: env.HTTP_HOST,
      port: httpPort,
      registry,
      async readiness() {
        const checks: Record<string, string> = {
          redis: connection.status === 'ready' ? 'up' : `down: ${connection.status}`,
        };
        for (const role of roles) Object.assign(checks, await role.checks());
        return { ready: Object.values(checks).every((v) => v === 'up'), checks };
      },
    });
  } catch (error) {
    const at = { host: env.HTTP_HOST, port: httpPort, hostVariable: 'HTTP_HOST', portVariable: 'HTTP_PORT' };
    return abortStart(listenFailure(error, at).message);
  }

  registerQueueDepthMetrics(registry, queues, logger);
  const base: ProcessContext = {
    logger,
    registry,
    queues,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    workerLockMs: env.WORKER_LOCK_DURATION_MS,
  };
  // Signals are handled from here on: a stop that comes while the roles are still starting (Redis away,
  // so the first commands wait) is a clean stop, not a kill.
  let stopping = false;
  let stopWatching: () => void = () => {};
  const stop = handleShutdownSignals({
    logger,
    timeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    async stop() {
      stopping = true;
      stopWatching();
      for (const role of [...roles].reverse()) await role.stop();
      await ops.close();
      // Our own quit is not an outage: no "redis unavailable" line on a clean stop.
      stopWatchingRedis();
      // QUIT waits for Redis's answer; while Redis is away there is nobody to wait for.
      if (connection.status === 'ready') await connection.quit().catch(() => connection.disconnect());
      else connection.disconnect();
    },
  });

  const app: RunningApp = { logger, httpPort: ops.port, stop };
  try {
    roles =
      definition.config === 'required'
        ? await definition.start({ ...base, settings: settings! } satisfies RoleContext, env)
        : await definition.start(base, env);
  } catch (error) {
    if (!stopping) {
      await ops.close();
      return abortStart((error as Error).message, error);
    }
  }
  // A stop began while the roles were starting: the process is on its way out.
  if (stopping) return app;

  const reload = async (file: string, reason: string) => {
    try {
      const loaded = loadConfigFile(file, { checkCertificates });
      logWarnings(logger, loaded.warnings);
      logger.info({ reason }, 'config reloaded');
      for (const role of roles) await role.applySettings(loaded.settings);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const problem of error.problems) logger.error({ path: problem.path }, formatProblem(problem));
      logger.error(
        `config change rejected (${error.problems.length} problem(s)): keeping the running config`,
      );
    }
  };
  const file = configFile;
  if (file) {
    stopWatching = watchConfigFile(file, () => void reload(file, 'file changed'));
    process.on('SIGHUP', () => void reload(file, 'SIGHUP'));
  }

  logger.info(
    {
      httpPort: ops.port,
      config: configFile,
      queuePrefix: env.QUEUE_PREFIX,
      roles: roles.map((r) => r.name),
      heapGrowingPercent: heapGrowingPercent || "V8's own",
    },
    `${definition.role} started`,
  );
  return app;
}

function readAppEnvironment<S extends z.ZodType>(schema: S): z.output<S> & CommonEnv {
  const problems: ConfigProblem[] = [];
  const parse = <T extends z.ZodType>(s: T) => {
    try {
      return readEnvironment(s);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
      return undefined;
    }
  };
  const common = parse(commonEnvSchema);
  const own = parse(schema);
  if (problems.length > 0 || !common) {
    // Synchronous: the app must not go on with settings it could not read.
    writeSync(2, `${new ConfigError('environment', problems).message}\n`);
    process.exit(1);
  }
  return { ...(own as object), ...common } as z.output<S> & CommonEnv;
}

function logWarnings(logger: Logger, warnings: ConfigProblem[]) {
  for (const warning of warnings) logger.warn({ path: warning.path }, formatProblem(warning));
}

function exitNow(code: number): never {
  // Let the logger flush its last line before the process ends.
  void exitProcess(code);
  return new Promise(() => {}) as never;
}
