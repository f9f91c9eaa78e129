import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export interface MqttConnectionSettings {
  /** `mqtt://host:1883`, `mqtts://host:8883` (TLS), `ws://`, `wss://`. */
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
  rejectUnauthorized?: boolean;
  clientId?: string | undefined;
}

/** Why a publish did not complete: the broker is away or did not acknowledge in time. Retrying can help. */
export class MqttPublishError extends Error {
  override readonly name = 'MqttPublishError';
}

export interface MqttPublisher {
  /** Resolves when the broker acknowledged (PUBACK for QoS 1, PUBCOMP for 2; sent for QoS 0). */
  publish(topic: string, payload: string, options: { qos: 0 | 1 | 2; retain: boolean }): Promise<void>;
  readonly connected: boolean;
  /** Called on every change between connected and disconnected. */
  onStateChange(listener: (connected: boolean, detail: string) => void): void;
  close(): Promise<void>;
}

/**
 * One MQTT connection that reconnects by itself. A publish made while the broker is away waits for the
 * connection up to `timeoutMs`, then fails, so that the job is retried later instead of piling up in memory.
 */
export function createMqttPublisher(settings: MqttConnectionSettings, timeoutMs: number): MqttPublisher {
  const options: IClientOptions = {
    clientId:
      settings.clientId ?? `qsm-${hostname()}-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    clean: true,
    keepalive: 30,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    queueQoSZero: false,
    ...(settings.username ? { username: settings.username } : {}),
    ...(settings.password ? { password: settings.password } : {}),
    ...(settings.caFile ? { ca: readFileSync(settings.caFile) } : {}),
    ...(settings.certFile ? { cert: readFileSync(settings.certFile) } : {}),
    ...(settings.keyFile ? { key: readFileSync(settings.keyFile) } : {}),
    rejectUnauthorized: settings.rejectUnauthorized ?? true,
  };
  const client: MqttClient = mqtt.connect(settings.url, options);
  const listeners: Array<(connected: boolean, detail: string) => void> = [];
  // Unknown until the first connect or failure: a broker that is away when the sink starts is a change
  // too (the sink then takes no jobs and says so), not the state it began in.
  let connected: boolean | undefined;
  let lastError = '';
  const setState = (next: boolean, detail: string) => {
    if (next === connected) return;
    connected = next;
    for (const listener of listeners) listener(next, detail);
  };
  client.on('connect', () => setState(true, 'connected'));
  client.on('close', () => setState(false, lastError || 'connection closed'));
  client.on('offline', () => setState(false, lastError || 'offline'));
  client.on('error', (error) => {
    lastError = error.message;
  });

  const waitForConnection = (deadline: number) =>
    new Promise<void>((resolve, reject) => {
      if (client.connected) return resolve();
      const timer = setTimeout(
        () => {
          client.off('connect', onConnect);
          reject(
            new MqttPublishError(
              `broker not connected for ${timeoutMs} ms${lastError ? ` (${lastError})` : ''}`,
            ),
          );
        },
        Math.max(0, deadline - Date.now()),
      );
      const onConnect = () => {
        clearTimeout(timer);
        resolve();
      };
      client.once('connect', onConnect);
    });

  return {
    async publish(topic, payload, { qos, retain }) {
      const deadline = Date.now() + timeoutMs;
      await waitForConnection(deadline);
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          client.publishAsync(topic, payload, { qos, retain }),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new MqttPublishError(`no acknowledgement from the broker within ${timeoutMs} ms`)),
              Math.max(1, deadline - Date.now()),
            );
          }),
        ]);
      } catch (error) {
        if (error instanceof MqttPublishError) throw error;
        throw new MqttPublishError((error as Error).message);
      } finally {
        clearTimeout(timer);
      }
    },
    get connected() {
      return connected === true;
    },
    onStateChange(listener) {
      listeners.push(listener);
    },
    async close() {
      // Closing is not an outage: nobody is told that the connection went.
      listeners.length = 0;
      await client.endAsync(false).catch(() => client.end(true));
    },
  };
}
