import type { MqttSinkEnv, Settings } from '@qsm/config';
import type { RoleContext, RunningRole } from '@qsm/host';
import { type MqttSinkJob, mqttSinkJobSchema } from '@qsm/model';
import { buildSessionPayload, buildSessionTopic, createMqttPublisher, MqttPublishError } from '@qsm/mqtt';
import {
  closeWorker,
  type Job,
  openQueue,
  PermanentJobError,
  QUEUE,
  RetryableJobError,
  removeExpiredJobs,
  startWorker,
} from '@qsm/queues';
import { createPublishedSnapshots } from '@qsm/redis';
import { createSinkRetries, createStateLog, deliveryLatencyMetric, startIdleSink } from '@qsm/sink';
import { mqttSinkMetrics } from './mqtt-sink-metrics.js';
import { createTopicSequencer } from './topic-sequencer.js';

/** `MQTT_URL` when set, else Butler SOS's `brokerHost`/`brokerPort` over plain MQTT. */
export function brokerUrl(settings: Settings, env: Pick<MqttSinkEnv, 'MQTT_URL'>): string {
  if (env.MQTT_URL) return env.MQTT_URL;
  const mqtt = settings.mqttConfig;
  if (!mqtt.enable) throw new Error('mqttConfig.enable is false');
  const host =
    mqtt.brokerHost.includes(':') && !mqtt.brokerHost.startsWith('[')
      ? `[${mqtt.brokerHost}]`
      : mqtt.brokerHost;
  return `mqtt://${host}:${mqtt.brokerPort}`;
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
  const metrics = mqttSinkMetrics(context.registry);
  const delivery = deliveryLatencyMetric(context.registry);
  const url = brokerUrl(settings, env);
  const state = createStateLog(logger, 'mqtt broker');
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
  const snapshots = createPublishedSnapshots(context.queues.connection, context.queues.prefix);
  const qos = env.MQTT_QOS as 0 | 1 | 2;

  const sequencer = createTopicSequencer(25);
  const retries = createSinkRetries<MqttSinkJob>({
    sink: 'mqtt',
    maxAgeMs: env.SINK_MAX_AGE_MS,
    maxBackoffMs: env.SINK_MAX_BACKOFF_MS,
    logger,
    registry: context.registry,
    bornAt: (job) => job?.data.polledAt ?? Date.now(),
  });

  const publish = async (job: Job<MqttSinkJob>) => {
    const parsed = mqttSinkJobSchema.safeParse(job.data);
    if (!parsed.success) {
      throw new PermanentJobError('invalid_job', parsed.error.issues.map((i) => i.message).join('; '));
    }
    const result = parsed.data;
    // The worker takes no jobs while the broker is away, so a long outage leaves old results waiting. A
    // payload carries no time: a subscriber would take a snapshot of yesterday for the sessions of now.
    const ageMs = Date.now() - result.polledAt;
    if (ageMs > env.SINK_MAX_AGE_MS) {
      retries.givenUp.record(job.id, ageMs);
      throw new PermanentJobError(
        'result_too_old',
        `polled ${Math.round(ageMs / 1000)} s ago, longer than SINK_MAX_AGE_MS (${env.SINK_MAX_AGE_MS} ms) before the broker could take it: not published`,
      );
    }
    const mqtt = settings.mqttConfig;
    const baseTopic = mqtt.enable ? mqtt.baseTopic : 'butler-sos/';
    const topic = buildSessionTopic(baseTopic, result.qpsHost, result.virtualProxy);
    return sequencer.submit(topic, result.polledAt, () => publishInTurn(topic, result));
  };

  const publishInTurn = async (topic: string, result: MqttSinkJob) => {
    if (!(await snapshots.claim(topic, result.polledAt))) {
      metrics.superseded.inc();
      return { topic, skipped: 'superseded' };
    }
    try {
      await publisher.publish(topic, buildSessionPayload(result.sessions), { qos, retain: env.MQTT_RETAIN });
    } catch (error) {
      if (error instanceof MqttPublishError) throw new RetryableJobError('mqtt_unavailable', error.message);
      throw error;
    }
    metrics.published.inc();
    const ageMs = Date.now() - result.polledAt;
    delivery.observe({ sink: 'mqtt' }, ageMs / 1000);
    return { topic, sessions: result.sessions.length, ageMs };
  };

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

  // While the broker is away the worker takes nothing, and results would pile up in Redis for as long as
  // the outage lasts: those past SINK_MAX_AGE_MS (given up when taken anyway) are removed as they expire.
  const queue = openQueue(context.queues, QUEUE.mqtt);
  const sweepEveryMs = Math.min(60_000, Math.max(1000, Math.round(env.SINK_MAX_AGE_MS / 10)));
  let sweeper: NodeJS.Timeout | undefined;
  let sweeping = false;
  const removeExpired = async () => {
    if (sweeping) return;
    sweeping = true;
    try {
      for (const id of await removeExpiredJobs(queue, env.SINK_MAX_AGE_MS)) retries.givenUp.record(id);
    } catch (error) {
      logger.debug({ err: error }, 'removing expired MQTT results failed; trying again later');
    } finally {
      sweeping = false;
    }
  };

  // Taking no new jobs while the broker is away keeps the snapshots of each topic in order.
  publisher.onStateChange((connected, detail) => {
    if (connected) {
      state.up(detail);
      clearInterval(sweeper);
      sweeper = undefined;
      worker.resume();
    } else {
      state.down(detail);
      void worker.pause(true).catch(() => {});
      sweeper ??= setInterval(() => void removeExpired(), sweepEveryMs);
    }
  });

  logger.info(
    { broker: url.replace(/\/\/[^@]*@/, '//***@'), qos, retain: env.MQTT_RETAIN },
    'MQTT sink running',
  );

  return {
    name: 'mqtt-sink',
    async checks() {
      return {
        mqtt: publisher.connected ? 'up' : state.current === 'up' ? 'down: not connected yet' : state.current,
      };
    },
    async applySettings(next) {
      if (JSON.stringify(next.mqttConfig) !== JSON.stringify(settings.mqttConfig)) {
        logger.warn('mqttConfig changed: the base topic applies now; restart the MQTT sink for a new broker');
      }
      settings = next;
    },
    async stop() {
      clearInterval(sweeper);
      await closeWorker(worker, context.queues.connection);
      await queue.close();
      retries.givenUp.flush();
      await publisher.close();
    },
  };
}
