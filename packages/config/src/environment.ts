import { accessSync, constants, statSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, type ConfigProblem } from './config-error.js';
import { bool, int } from './env-fields.js';
import { parseQueueShard } from './queue-shard.js';
import type { QueueShard } from './settings.js';
import { check } from './validate.js';

/*
 * Deployment settings that Butler SOS's file does not have. They come from the environment so that
 * the same config file keeps working with Butler SOS itself; all are optional.
 */

const port = int(0, 65535);
const url = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

/** A file the process can read now: a wrong path is reported at start, not at the first connection. */
const readableFile = z
  .string()
  .min(1)
  .superRefine((file, ctx) => {
    try {
      if (!statSync(file).isFile()) {
        ctx.addIssue({ code: 'custom', message: `${file} is not a file` });
        return;
      }
      accessSync(file, constants.R_OK);
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        message: `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      });
    }
  });

const REDIS_TLS_KEYS = [
  'REDIS_CA_FILE',
  'REDIS_CERT_FILE',
  'REDIS_KEY_FILE',
  'REDIS_REJECT_UNAUTHORIZED',
] as const;

export const commonEnvSchema = z
  .object({
    CONFIG_FILE: z.string().min(1).optional(),
    REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
    /** For a `rediss://` REDIS_URL: the CA that signed Redis's certificate, instead of Node's public CAs. */
    REDIS_CA_FILE: readableFile.optional(),
    /** For a Redis that asks for a client certificate (`tls-auth-clients yes`, Redis's own default). */
    REDIS_CERT_FILE: readableFile.optional(),
    REDIS_KEY_FILE: readableFile.optional(),
    REDIS_REJECT_UNAUTHORIZED: bool.optional(),
    /** REDIS_URL is one node of a Redis Cluster: connect to the cluster through it. */
    REDIS_CLUSTER: bool.default(false),
    QUEUE_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.{}-]+$/, 'may only contain letters, digits, "_", ".", "-", "{" and "}"')
      .default('qsm'),
    /**
     * `k/N`: this deployment monitors only the servers whose name hashes to shard k of N, so that N
     * deployments (each with its own QUEUE_PREFIX, hence its own Redis slot) share the estate.
     */
    QUEUE_SHARD: z
      .string()
      .transform((value, ctx): QueueShard => {
        const parsed = parseQueueShard(value);
        if (parsed.ok) return parsed.shard;
        ctx.addIssue({ code: 'custom', message: parsed.problem });
        return z.NEVER;
      })
      .optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    LOG_FORMAT: z.enum(['json', 'pretty', 'auto']).default('auto'),
    HTTP_HOST: z.string().min(1).default('0.0.0.0'),
    HTTP_PORT: port.optional(),
    SHUTDOWN_TIMEOUT_MS: int(100).default(8000),
    /** How long a worker's hold on a job lasts without renewal: a crashed worker's jobs return after this. */
    WORKER_LOCK_DURATION_MS: int(1000).default(30_000),
    /**
     * Niceness of the process (-20 to 19; higher yields the CPU to others). Unset: the app's own default
     * (sinks 5, so that on a shared machine polls keep their timing while deliveries wait a little).
     */
    PROCESS_NICE: int(-20, 19).optional(),
    /**
     * How far (in %) the V8 old generation may grow past the live heap before a full collection. Unset: the
     * app's own default (poller 50: bounded memory through bursts of polls, for ~10% more CPU); 0: V8's own.
     */
    HEAP_GROWING_PERCENT: int(0, 1000).optional(),
  })
  .superRefine((env, ctx) => {
    if (env.REDIS_CLUSTER && !/\{[^{}]+\}/.test(env.QUEUE_PREFIX)) {
      ctx.addIssue({
        code: 'custom',
        path: ['QUEUE_PREFIX'],
        message: `needs a hash tag on Redis Cluster (REDIS_CLUSTER=true), e.g. {${env.QUEUE_PREFIX.replace(/[{}]/g, '') || 'qsm'}}: the keys of a queue must share a slot`,
      });
    }
    if (env.REDIS_CLUSTER && !/^\/?0?$/.test(URL.parse(env.REDIS_URL)?.pathname ?? '')) {
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_URL'],
        message: 'a Redis Cluster has only database 0: remove the /<db> from REDIS_URL',
      });
    }
    const tls = env.REDIS_URL.startsWith('rediss:');
    for (const key of REDIS_TLS_KEYS) {
      if (!tls && env[key] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'only used with a rediss:// REDIS_URL (TLS); REDIS_URL is redis://',
        });
      }
    }
  });

export const schedulerEnvSchema = z.object({
  /**
   * 0: every (server, virtual proxy) is polled at the same moment of each interval (points line up in
   * time). N: polls are spread over the first N ms of the interval, by a stable hash of each target,
   * which smooths the load of a large site on Qlik, Redis and the sinks.
   */
  SCHEDULE_SPREAD_MS: int(0).default(0),
  /**
   * How often the scheduler makes sure Redis still holds every job scheduler, besides each time it
   * reconnects: a Redis restarted without persistence, flushed, or failed over to a replica that missed
   * writes has lost them, and with them every poll.
   */
  SCHEDULE_CHECK_INTERVAL_MS: int(1000).default(60_000),
});

export const pollerEnvSchema = z.object({
  POLLER_CONCURRENCY: int(1, 10_000).default(100),
  QPS_TIMEOUT_MS: int(100).optional(),
  QPS_MAX_RESPONSE_BYTES: int(1024).default(32 * 1024 * 1024),
  /** Kept-alive TLS connections per Qlik server (each costs memory on both sides and a handshake). */
  QPS_MAX_SOCKETS_PER_SERVER: int(1, 1024).default(8),
});

/**
 * Session tracking (session start and end events, site-wide figures per interval): on by default. The
 * poller hands every successful poll to the tracker, the scheduler tells it when a proxy is no longer
 * polled, and the tracker derives the events and the figures.
 */
export const trackingEnvSchema = z.object({
  SESSION_TRACKING: bool.default(true),
  /** A user with at least this many sessions over the site counts in `users_at_limit` (Qlik refuses the 6th). */
  SESSION_LIMIT_WARN: int(1, 1000).default(4),
});

export const trackerEnvSchema = trackingEnvSchema.extend({
  TRACKER_CONCURRENCY: int(1, 10_000).default(32),
  /**
   * Tests only: the tracker waits this long after writing a change's state and events, before delivering
   * them, and logs that it does, so that a fault test can kill it at exactly that point.
   */
  TRACKER_TEST_PAUSE_BEFORE_DELIVERY_MS: int(0, 600_000).default(0),
});

export const sinkEnvSchema = z.object({
  SINK_MAX_AGE_MS: int(1000).default(24 * 3600 * 1000),
  SINK_MAX_BACKOFF_MS: int(100).default(60_000),
});

export const influxSinkEnvSchema = sinkEnvSchema.extend({
  INFLUX_CONCURRENCY: int(1, 10_000).default(256),
  INFLUX_FLUSH_INTERVAL_MS: int(0, 60_000).default(100),
  INFLUX_PARALLEL_WRITES: int(1, 64).default(2),
  INFLUX_URL: url(['http:', 'https:']).optional(),
  INFLUX_CA_FILE: readableFile.optional(),
  INFLUX_REJECT_UNAUTHORIZED: bool.default(true),
  INFLUX_USERNAME: z.string().optional(),
  INFLUX_PASSWORD: z.string().optional(),
  INFLUX_TOKEN: z.string().optional(),
  SESSION_ID_HASH_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Session starts and ends also go to Butler SOS's `user_events` measurement, as its UDP events do. */
  SESSION_EVENTS_AS_USER_EVENTS: bool.default(false),
});

export const mqttSinkEnvSchema = sinkEnvSchema.extend({
  MQTT_CONCURRENCY: int(1, 10_000).default(64),
  MQTT_URL: url(['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:']).optional(),
  MQTT_USERNAME: z.string().optional(),
  MQTT_PASSWORD: z.string().optional(),
  MQTT_CA_FILE: readableFile.optional(),
  MQTT_CERT_FILE: readableFile.optional(),
  MQTT_KEY_FILE: readableFile.optional(),
  MQTT_REJECT_UNAUTHORIZED: bool.default(true),
  MQTT_QOS: z.enum(['0', '1', '2'], { error: 'must be 0, 1 or 2' }).default('1').transform(Number),
  MQTT_RETAIN: bool.default(false),
  MQTT_CLIENT_ID: z.string().min(1).optional(),
  MQTT_PUBLISH_TIMEOUT_MS: int(100).default(30_000),
});

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** An address only this machine can reach. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}

export const boardEnvSchema = z
  .object({
    BOARD_HOST: z.string().min(1).default('127.0.0.1'),
    BOARD_PORT: port.default(3000),
    BOARD_USERNAME: z.string().min(1).optional(),
    BOARD_PASSWORD: z.string().min(1).optional(),
    BOARD_READ_ONLY: bool.default(false),
    BOARD_ALLOW_OPEN: bool.default(false),
    BOARD_BASE_PATH: z
      .string()
      .regex(/^\/[A-Za-z0-9/_-]*$/, 'must start with "/"')
      .default('/'),
  })
  .superRefine((env, ctx) => {
    // Bull Board can retry and remove jobs and shows session ids: without a login, only on this machine.
    if (env.BOARD_USERNAME && env.BOARD_PASSWORD) return;
    if (env.BOARD_USERNAME || env.BOARD_PASSWORD) {
      const [given, missing] = env.BOARD_USERNAME
        ? ['BOARD_USERNAME', 'BOARD_PASSWORD']
        : ['BOARD_PASSWORD', 'BOARD_USERNAME'];
      ctx.addIssue({ code: 'custom', path: [missing], message: `required with ${given}` });
    } else if (!env.BOARD_ALLOW_OPEN) {
      ctx.addIssue({
        code: 'custom',
        path: ['BOARD_PASSWORD'],
        message:
          'the board needs a login: set BOARD_USERNAME and BOARD_PASSWORD (or BOARD_ALLOW_OPEN=true with BOARD_HOST=127.0.0.1)',
      });
    } else if (!isLoopback(env.BOARD_HOST)) {
      ctx.addIssue({
        code: 'custom',
        path: ['BOARD_ALLOW_OPEN'],
        message: `only works with BOARD_HOST on this machine (127.0.0.1), not ${env.BOARD_HOST}: set BOARD_USERNAME and BOARD_PASSWORD`,
      });
    }
  });

export type CommonEnv = z.output<typeof commonEnvSchema>;
export type SchedulerEnv = z.output<typeof schedulerEnvSchema>;
export type PollerEnv = z.output<typeof pollerEnvSchema>;
export type TrackingEnv = z.output<typeof trackingEnvSchema>;
export type TrackerEnv = z.output<typeof trackerEnvSchema>;
export type SinkEnv = z.output<typeof sinkEnvSchema>;
export type InfluxSinkEnv = z.output<typeof influxSinkEnvSchema>;
export type MqttSinkEnv = z.output<typeof mqttSinkEnvSchema>;
export type BoardEnv = z.output<typeof boardEnvSchema>;

/** Parses environment variables with `schema`; throws ConfigError naming every bad `env.VAR`. */
export function readEnvironment<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.output<S> {
  // An empty variable means "not set", as in most shells and compose files.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const problems: ConfigProblem[] = [];
  const parsed = check(schema, present, ['env'], problems);
  if (parsed === undefined) throw new ConfigError('environment', problems);
  problems.push(...unpairedKeyProblems(parsed as Record<string, unknown>));
  if (problems.length > 0) throw new ConfigError('environment', problems);
  return parsed;
}

/** A client certificate is no use without its key, nor a key without its certificate (`MQTT_CERT_FILE`...). */
function unpairedKeyProblems(env: Record<string, unknown>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const name of Object.keys(env)) {
    const file = /^(.*)_(CERT|KEY)_FILE$/.exec(name);
    if (!file) continue;
    const other = `${file[1]}_${file[2] === 'CERT' ? 'KEY' : 'CERT'}_FILE`;
    if (env[other] === undefined) problems.push({ path: `env.${other}`, message: `required with ${name}` });
  }
  return problems;
}
