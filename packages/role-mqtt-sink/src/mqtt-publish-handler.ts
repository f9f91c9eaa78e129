import { formatIssues, type MqttSinkJob, mqttSinkJobSchema } from '@qsm/model';
import { buildSessionPayload, buildSessionTopic, MqttPublishError, type MqttPublisher } from '@qsm/mqtt';
import { type Job, PermanentJobError, RetryableJobError } from '@qsm/queues';
import type { PublishedSnapshots } from '@qsm/redis';
import { deliveryLatencyMetric, type GiveUpLog } from '@qsm/sink';
import type { Registry } from 'prom-client';
import { mqttSinkMetrics } from './mqtt-sink-metrics.js';
import { createTopicSequencer } from './topic-sequencer.js';

export interface MqttPublishHandlerDeps {
  publisher: Pick<MqttPublisher, 'publish'>;
  /** Which snapshot each topic carries, shared by every MQTT sink process. */
  snapshots: PublishedSnapshots;
  /** Read per job: a reloaded config's base topic applies to the next result. */
  baseTopic: () => string;
  qos: 0 | 1 | 2;
  retain: boolean;
  /** SINK_MAX_AGE_MS: an older result is not published. */
  maxAgeMs: number;
  givenUp: Pick<GiveUpLog, 'record'>;
  registry: Registry;
  /** How long a topic's snapshots are collected before they are published oldest first. */
  sequenceWindowMs?: number;
}

/** What a completed job returns (Bull Board shows it). */
export type MqttPublishOutcome =
  | { topic: string; sessions: number; ageMs: number }
  | { topic: string; skipped: 'superseded' };

/**
 * The processor of the sink-mqtt queue. It publishes a PollResult's sessions (all of them; the blacklist
 * is for InfluxDB only) to Butler SOS's topic and completes the job on the broker's acknowledgement. A
 * snapshot older than one already published on its topic is not published, nor one older than
 * SINK_MAX_AGE_MS; the broker away is a reason to try again.
 */
export function createMqttPublishHandler(deps: MqttPublishHandlerDeps) {
  const { publisher, snapshots, maxAgeMs } = deps;
  const metrics = mqttSinkMetrics(deps.registry);
  const delivery = deliveryLatencyMetric(deps.registry);
  const sequencer = createTopicSequencer(deps.sequenceWindowMs ?? 25);

  const publishInTurn = async (topic: string, result: MqttSinkJob): Promise<MqttPublishOutcome> => {
    if (!(await snapshots.claim(topic, result.polledAt))) {
      metrics.superseded.inc();
      return { topic, skipped: 'superseded' };
    }
    try {
      await publisher.publish(topic, buildSessionPayload(result.sessions), {
        qos: deps.qos,
        retain: deps.retain,
      });
    } catch (error) {
      if (error instanceof MqttPublishError) throw new RetryableJobError('mqtt_unavailable', error.message);
      throw error;
    }
    metrics.published.inc();
    const ageMs = Date.now() - result.polledAt;
    delivery.observe({ sink: 'mqtt' }, ageMs / 1000);
    return { topic, sessions: result.sessions.length, ageMs };
  };

  return async (job: Job<MqttSinkJob>): Promise<MqttPublishOutcome> => {
    const parsed = mqttSinkJobSchema.safeParse(job.data);
    if (!parsed.success) throw new PermanentJobError('invalid_job', formatIssues(parsed.error.issues));
    const result = parsed.data;
    // The worker takes no jobs while the broker is away, so a long outage leaves old results waiting. A
    // payload carries no time: a subscriber would take a snapshot of yesterday for the sessions of now.
    const ageMs = Date.now() - result.polledAt;
    if (ageMs > maxAgeMs) {
      deps.givenUp.record(job.id, ageMs);
      throw new PermanentJobError(
        'result_too_old',
        `polled ${Math.round(ageMs / 1000)} s ago, longer than SINK_MAX_AGE_MS (${maxAgeMs} ms) before the broker could take it: not published`,
      );
    }
    const topic = buildSessionTopic(deps.baseTopic(), result.qpsHost, result.virtualProxy);
    return sequencer.submit(topic, result.polledAt, () => publishInTurn(topic, result));
  };
}
