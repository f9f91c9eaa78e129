import type { InfluxQueueJob, MqttSinkJob } from './payloads.js';
import type { QUEUE } from './queue-names.js';

/** One job for a sink queue, with the id that keeps a retried poll from adding it twice. */
export type SinkJobSpec =
  | { queue: typeof QUEUE.influx; id: string; data: InfluxQueueJob }
  | { queue: typeof QUEUE.mqtt; id: string; data: MqttSinkJob };
