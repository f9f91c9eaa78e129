import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CertificateSet } from '@qsm/dev-certs';
import { stringify } from 'yaml';

export interface TestServer {
  serverName: string;
  qpsHost: string;
  virtualProxies: string[];
  serverDescription?: string;
  serverTags?: Record<string, string>;
  enable?: boolean;
}

export interface TestConfigOptions {
  servers: TestServer[];
  certs: CertificateSet;
  pollingInterval?: number;
  excludeUser?: Array<{ directory: string; userId: string }>;
  serverTagsDefinition?: string[];
  influx?:
    | false
    | { db: string; version?: 1; host?: string; port?: number }
    | { version: 2 | 3; host: string; port: number; bucket: string; org?: string; token?: string };
  mqtt?: false | { baseTopic: string; port?: number };
  errorTracking?: boolean;
}

/** A Butler SOS config file (the format users have) for a test, written to `dir/config.yaml`. */
export function writeButlerConfig(dir: string, options: TestConfigOptions): string {
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, stringify(butlerConfig(options)));
  return file;
}

export function butlerConfig(options: TestConfigOptions): Record<string, unknown> {
  const influx = options.influx ?? false;
  return {
    'Butler-SOS': {
      logLevel: 'info',
      userSessions: {
        enableSessionExtract: true,
        pollingInterval: options.pollingInterval ?? 1000,
        excludeUser: options.excludeUser ?? [],
      },
      serversToMonitor: {
        pollingInterval: 30000,
        rejectUnauthorized: true,
        serverTagsDefinition: options.serverTagsDefinition ?? [],
        servers: options.servers.map((s) => ({
          host: `${s.qpsHost.split(':')[0]}:4747`,
          serverName: s.serverName,
          serverDescription: s.serverDescription ?? `${s.serverName} description`,
          userSessions: {
            enable: s.enable ?? true,
            host: s.qpsHost,
            virtualProxies: s.virtualProxies.map((virtualProxy) => ({ virtualProxy })),
          },
          serverTags: s.serverTags ?? null,
          headers: null,
        })),
      },
      cert: {
        clientCert: options.certs.client,
        clientCertKey: options.certs.clientKey,
        clientCertCA: options.certs.root,
        clientCertPassphrase: options.certs.passphrase ?? '',
      },
      errorTracking: {
        enable: options.errorTracking ?? true,
        influxdb: { enable: true, measurementName: 'butler_sos_errors' },
      },
      influxdbConfig: !influx
        ? { enable: false }
        : 'db' in influx
          ? {
              enable: true,
              host: influx.host ?? '127.0.0.1',
              port:
                influx.port ??
                Number(new URL(process.env.INFLUX_URL ?? 'http://127.0.0.1:8086').port || 8086),
              version: 1,
              maxBatchSize: 1000,
              v1Config: {
                auth: { enable: false, username: '', password: '' },
                dbName: influx.db,
                retentionPolicy: { name: 'qsm_test', duration: '1d' },
              },
            }
          : {
              enable: true,
              host: influx.host,
              port: influx.port,
              version: influx.version,
              maxBatchSize: 1000,
              v2Config: {
                org: influx.org ?? 'qsm',
                bucket: influx.bucket,
                description: 'test',
                token: influx.token ?? 'test-token',
                retentionDuration: '1d',
              },
              v3Config: {
                database: influx.bucket,
                description: 'test',
                token: influx.token ?? 'test-token',
                retentionDuration: '1d',
              },
            },
      mqttConfig: options.mqtt
        ? {
            enable: true,
            brokerHost: '127.0.0.1',
            brokerPort:
              options.mqtt.port ??
              Number(new URL(process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883').port || 1883),
            baseTopic: options.mqtt.baseTopic,
          }
        : { enable: false },
    },
  };
}
