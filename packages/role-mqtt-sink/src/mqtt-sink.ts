import { isDeepStrictEqual } from 'node:util';
import type { MqttSinkEnv, Settings } from '@qsm/config';
import type { RoleContext, RunningRole } from '@qsm/host';
import { type MqttSinkJob, sinkRecordMadeAt } from '@qsm/model';
import { createMqttPublisher } from '@qsm/mqtt';
import { formatHostPort, redactUrl } from '@qsm/net';
import { closeWorker, type Job, openQueue, QUEUE, startWorker } from '@qsm/queues';
import { createPublishedSnapshots } from '@qsm/redis';
import { createSinkRetries, createStateLog, startIdleSink } from '@qsm/sink';
import { followBroker } from './broker-state.js';
import { createExpiredSweeper } from './expired-sweeper.js';
import { createMqttPublishHandler } from './mqtt-publish-handler.js';

/** `MQTT_URL` when set, else Butler SOS's `brokerHost`/`brokerPort` over plain MQTT. */
export function brokerUrl(settings: Settings, env: Pick<MqttSinkEnv, 'MQTT_URL'>): string {
  if (env.MQTT_URL) return env.MQTT_URL;
  const mqtt = settings.mqttConfig;
  if (!mqtt.enable) throw new Error('mqttConfig.enable is false');
  return `mqtt://${formatHostPort(mqtt.brokerHost, mqtt.brokerPort)}`;
}

/** When a job's record was made, for giving up its retries; a malformed record by its job's time. */
export function jobBornAt(job: Job<MqttSinkJob> | undefined): number {
  const data = job?.data as MqttSinkJob | null | undefined;
  const madeAt = typeof data === 'object' && data !== null ? sinkRecordMadeAt(data) : undefined;
  return typeof madeAt === 'number' && Number.isFinite(madeAt) ? madeAt : (job?.timestamp ?? Date.now());
}

/**
 * A BullMQ worker on the sink-mqtt queue. It publishes each PollResult's sessions (all of them; the
 * blacklist is for InfluxDB only) to Butler SOS's topic, with QoS 1 by default, and completes the job on
 * the broker's acknowledgement. A snapshot older than one already published on its topic is not
 * published. While the broker is away, the worker pauses and jobs are retried.
 */
export async function startMqttSink(context: RoleContext, env: MqttSinkEnv): Promise<RunningRole> {
  const { logger } = context;
  if (!context.settings.mqttConfig.enable) return startIdleSink(context, 'mqtt-sink', 'mqttConfig');
  let settings = context.settings;
  const url = brokerUrl(settings, env);
  const publisher = createMqttPublisher(
    {
      url,
      username: env.MQTT_USERNAME,
      password: env.MQTT_PASSWORD,
      caFile: env.MQTT_CA_FILE,
      certFile: env.MQTT_CERT_FILE,
      keyFile: env.MQTT_KEY_FILE,
      rejectUnauthorized: env.MQTT_REJECT_UNAUTHORIZED,
      clientId: env.MQTT_CLIENT_ID,
    },
    env.MQTT_PUBLISH_TIMEOUT_MS,
  );
  const qos = env.MQTT_QOS as 0 | 1 | 2;
  const retries = createSinkRetries<MqttSinkJob>({
    sink: 'mqtt',
    maxAgeMs: env.SINK_MAX_AGE_MS,
    maxBackoffMs: env.SINK_MAX_BACKOFF_MS,
    logger,
    registry: context.registry,
    bornAt: jobBornAt,
  });
  const publish = createMqttPublishHandler({
    publisher,
    snapshots: createPublishedSnapshots(context.queues.connection, context.queues.prefix),
    baseTopic: () => (settings.mqttConfig.enable ? settings.mqttConfig.baseTopic : 'butler-sos/'),
    qos,
    retain: env.MQTT_RETAIN,
    maxAgeMs: env.SINK_MAX_AGE_MS,
    givenUp: retries.givenUp,
    registry: context.registry,
  });
  const worker = startWorker<MqttSinkJob>({
    queue: QUEUE.mqtt,
    context: context.queues,
    concurrency: env.MQTT_CONCURRENCY,
    lockMs: context.workerLockMs,
    maxStalledCount: 5,
    processor: publish,
    backoff: retries.backoff,
    onError: (error) => logger.debug({ err: error }, 'mqtt sink worker error'),
  });

  const queue = openQueue(context.queues, QUEUE.mqtt);
  const sweeper = createExpiredSweeper({
    queue,
    maxAgeMs: env.SINK_MAX_AGE_MS,
    givenUp: retries.givenUp,
    logger,
  });
  const state = createStateLog(logger, 'mqtt broker');
  followBroker({ publisher, worker, sweeper, state, logger });

  logger.info({ broker: redactUrl(url), qos, retain: env.MQTT_RETAIN }, 'MQTT sink running');

  return {
    name: 'mqtt-sink',
    async checks() {
      return {
        mqtt: publisher.connected ? 'up' : state.current === 'up' ? 'down: not connected yet' : state.current,
      };
    },
    async applySettings(next) {
      if (!isDeepStrictEqual(next.mqttConfig, settings.mqttConfig)) {
        logger.warn('mqttConfig changed: the base topic applies now; restart the MQTT sink for a new broker');
      }
      settings = next;
    },
    async stop() {
      sweeper.stop();
      await closeWorker(worker, context.queues.connection);
      await queue.close();
      retries.givenUp.flush();
      await publisher.close();
    },
  };
}
