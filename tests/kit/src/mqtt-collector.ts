import mqtt, { type IClientOptions } from 'mqtt';
import { services } from './services.js';

export interface MqttMessage {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  receivedAt: number;
}

export interface MqttCollector {
  messages: MqttMessage[];
  close(): Promise<void>;
}

/** Subscribes to `filter` and keeps every message, in arrival order. */
export async function collectMqtt(
  filter: string,
  url = services.mqttUrl,
  /** A persistent session (clean: false) keeps receiving across broker restarts, nothing missed. */
  session?: { clientId: string },
  /** TLS and credentials for a broker that asks for them. */
  connection: Pick<IClientOptions, 'ca' | 'cert' | 'key' | 'username' | 'password'> = {},
): Promise<MqttCollector> {
  const client = await mqtt.connectAsync(url, {
    clean: !session,
    reconnectPeriod: 500,
    ...(session ? { clientId: session.clientId } : {}),
    ...connection,
  });
  const messages: MqttMessage[] = [];
  client.on('message', (topic, payload, packet) => {
    messages.push({
      topic,
      payload: payload.toString('utf8'),
      qos: packet.qos,
      retain: packet.retain,
      receivedAt: Date.now(),
    });
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return { messages, close: () => client.endAsync(true) };
}
