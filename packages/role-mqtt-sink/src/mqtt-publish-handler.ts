import {
  formatIssues,
  type MqttSinkJob,
  mqttSinkJobSchema,
  type PollResult,
  type SessionEventsRecord,
  type SiteFiguresRecord,
  sinkRecordMadeAt,
} from '@qsm/model';
import {
  buildSessionEventMessages,
  buildSessionEventTopic,
  buildSessionPayload,
  buildSessionTopic,
  buildSiteFiguresMessage,
  buildSiteFiguresTopic,
  MqttPublishError,
  type MqttPublisher,
} from '@qsm/mqtt';
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
  | { topic: string; events: number; ageMs: number }
  | { topic: string; site: true; ageMs: number }
  | { topic: string; skipped: 'superseded' };

/**
 * The processor of the sink-mqtt queue. It publishes a PollResult's sessions (all of them; the blacklist
 * is for InfluxDB only) to Butler SOS's topic, the tracker's session events one message each to the
 * proxy's `usersessionevent` topic, and its site figures to `usersessionsite`, and completes the job on
 * the broker's acknowledgement. A snapshot (session list, site figures) older than one already published
 * on its topic is not published, nor a record older than SINK_MAX_AGE_MS; the broker away is a reason to
 * try again.
 */
export function createMqttPublishHandler(deps: MqttPublishHandlerDeps) {
  const { publisher, snapshots, maxAgeMs } = deps;
  const metrics = mqttSinkMetrics(deps.registry);
  const delivery = deliveryLatencyMetric(deps.registry);
  const sequencer = createTopicSequencer(deps.sequenceWindowMs ?? 25);

  const publish = async (topic: string, payload: string, retain: boolean): Promise<void> => {
    try {
      await publisher.publish(topic, payload, { qos: deps.qos, retain });
    } catch (error) {
      if (error instanceof MqttPublishError) throw new RetryableJobError('mqtt_unavailable', error.message);
      throw error;
    }
  };

  const delivered = (record: MqttSinkJob): number => {
    const ageMs = Date.now() - sinkRecordMadeAt(record);
    delivery.observe({ sink: 'mqtt' }, ageMs / 1000);
    return ageMs;
  };

  const publishSessions = async (topic: string, result: PollResult): Promise<MqttPublishOutcome> => {
    if (!(await snapshots.claim(topic, result.polledAt))) {
      metrics.superseded.inc();
      return { topic, skipped: 'superseded' };
    }
    await publish(topic, buildSessionPayload(result.sessions), deps.retain);
    metrics.published.inc();
    return { topic, sessions: result.sessions.length, ageMs: delivered(result) };
  };

  /**
   * Events are not a snapshot: every one is published, none replaces another, and none is retained (a
   * subscriber connecting later would take an old start for a new one). One message per event, in the
   * record's order; a retry after a partial publish publishes the record's events again, as QoS 1 may.
   */
  const publishEvents = async (topic: string, record: SessionEventsRecord): Promise<MqttPublishOutcome> => {
    for (const message of buildSessionEventMessages(record)) {
      await publish(topic, message, false);
      metrics.trackingPublished.inc({ kind: 'session_event' });
    }
    return { topic, events: record.events.length, ageMs: delivered(record) };
  };

  /** The site figures are a snapshot of their interval: an older one than the last published is skipped. */
  const publishSite = async (topic: string, record: SiteFiguresRecord): Promise<MqttPublishOutcome> => {
    if (!(await snapshots.claim(topic, record.intervalStart))) {
      metrics.superseded.inc();
      return { topic, skipped: 'superseded' };
    }
    await publish(topic, buildSiteFiguresMessage(record), deps.retain);
    metrics.trackingPublished.inc({ kind: 'site_figures' });
    return { topic, site: true, ageMs: delivered(record) };
  };

  return async (job: Job<MqttSinkJob>): Promise<MqttPublishOutcome> => {
    const parsed = mqttSinkJobSchema.safeParse(job.data);
    if (!parsed.success) throw new PermanentJobError('invalid_job', formatIssues(parsed.error.issues));
    const result = parsed.data;
    // The worker takes no jobs while the broker is away, so a long outage leaves old results waiting. A
    // payload carries no time: a subscriber would take a snapshot of yesterday for the sessions of now.
    const ageMs = Date.now() - sinkRecordMadeAt(result);
    if (ageMs > maxAgeMs) {
      deps.givenUp.record(job.id, ageMs);
      throw new PermanentJobError(
        'result_too_old',
        `polled ${Math.round(ageMs / 1000)} s ago, longer than SINK_MAX_AGE_MS (${maxAgeMs} ms) before the broker could take it: not published`,
      );
    }
    // Each topic's messages go out in time order (see createTopicSequencer).
    const baseTopic = deps.baseTopic();
    switch (result.kind) {
      case 'sessions': {
        const topic = buildSessionTopic(baseTopic, result.qpsHost, result.virtualProxy);
        return sequencer.submit(topic, result.polledAt, () => publishSessions(topic, result));
      }
      case 'session_events': {
        const topic = buildSessionEventTopic(baseTopic, result.qpsHost, result.virtualProxy);
        return sequencer.submit(topic, result.time, () => publishEvents(topic, result));
      }
      case 'site_figures': {
        const topic = buildSiteFiguresTopic(baseTopic);
        return sequencer.submit(topic, result.intervalStart, () => publishSite(topic, result));
      }
    }
  };
}
