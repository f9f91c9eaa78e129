/** The product's queues. Every app names them through this object, never with string literals. */
export const QUEUE = {
  /** One job per (server, virtual proxy) per interval, from the job schedulers. */
  poll: 'poll',
  /** Poll results and poll errors on their way to InfluxDB. */
  influx: 'sink-influx',
  /** Poll results on their way to the MQTT broker. */
  mqtt: 'sink-mqtt',
} as const;

export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

export const ALL_QUEUES: readonly QueueName[] = [QUEUE.poll, QUEUE.influx, QUEUE.mqtt];
