/**
 * The settings this product reads from a Butler SOS config file, after validation.
 * Key names follow Butler SOS so that its documentation still applies.
 */

export interface ExcludedUser {
  directory: string;
  userId: string;
}

export interface UserSessionsSettings {
  /** `Butler-SOS.userSessions.enableSessionExtract` (true when the section is absent). */
  enableSessionExtract: boolean;
  /** `Butler-SOS.userSessions.pollingInterval` in ms (30000 when the section is absent). */
  pollingInterval: number;
  /** `Butler-SOS.userSessions.excludeUser`: the blacklist, applied to InfluxDB data only. */
  excludeUser: ExcludedUser[];
}

export interface ServerSessionSettings {
  enable: boolean;
  /** QPS `host:port`, e.g. `sense1.company.com:4243`. Empty when `enable` is false and no host was given. */
  host: string;
  /** Virtual proxy prefixes: `/` for the default one, `/name` otherwise. */
  virtualProxies: string[];
}

export interface ServerSettings {
  /** `servers[].host` as written (`host:4747`). */
  host: string;
  /** `host` without its port: Butler SOS's `host` tag. */
  hostName: string;
  serverName: string;
  serverDescription: string;
  userSessions: ServerSessionSettings;
  /** Custom tags, values as strings. */
  serverTags: Record<string, string>;
}

export interface CertificateSettings {
  /** Absolute paths (relative ones are resolved against the config file's folder). */
  clientCert: string;
  clientCertKey: string;
  clientCertCA: string;
  clientCertPassphrase: string | null;
}

export interface InfluxV1Settings {
  auth: { enable: boolean; username: string; password: string };
  dbName: string;
  retentionPolicy: { name: string; duration: string };
}

export interface InfluxV2Settings {
  org: string;
  bucket: string;
  description: string;
  token: string;
  retentionDuration: string;
}

export interface InfluxV3Settings {
  database: string;
  description: string;
  token: string;
  retentionDuration: string;
  writeTimeout: number;
  queryTimeout: number;
}

interface InfluxCommon {
  enable: true;
  host: string;
  port: number;
  maxBatchSize: number;
}

export type InfluxSettings =
  | { enable: false }
  | (InfluxCommon & { version: 1; v1Config: InfluxV1Settings })
  | (InfluxCommon & { version: 2; v2Config: InfluxV2Settings })
  | (InfluxCommon & { version: 3; v3Config: InfluxV3Settings });

export type MqttSettings =
  | { enable: false }
  | { enable: true; brokerHost: string; brokerPort: number; baseTopic: string };

export type PrometheusSettings = { enable: false } | { enable: true; host: string; port: number };

export interface ErrorTrackingSettings {
  /** Whether failed polls are written to InfluxDB (`errorTracking.enable && errorTracking.influxdb.enable`). */
  influxdb: boolean;
  measurementName: string;
}

/** `Butler-SOS.appNames`: Butler SOS reads app names from the repository there (port 4242). */
export interface AppNamesSettings {
  /** The repository's host as written, without a port; absent when unset or still a template placeholder. */
  hostIP?: string;
}

export interface Settings {
  /** Absolute path of the file these settings came from. */
  configFile: string;
  /** Only its repository host is read: discovery reads the same repository by default. */
  appNames?: AppNamesSettings;
  userSessions: UserSessionsSettings;
  serversToMonitor: {
    rejectUnauthorized: boolean;
    serverTagsDefinition: string[];
    servers: ServerSettings[];
  };
  /** Null when no server polls sessions (the section is then not needed). */
  cert: CertificateSettings | null;
  influxdbConfig: InfluxSettings;
  mqttConfig: MqttSettings;
  prometheus: PrometheusSettings;
  errorTracking: ErrorTrackingSettings;
  /**
   * Set when this process runs one queue shard (`QUEUE_SHARD`): `serversToMonitor.servers` then holds
   * only the shard's servers, and `allServers` every server of the file (discovery places repository
   * nodes against the whole file, so that another shard's server is not taken for an unknown node).
   */
  queueShard?: { shard: QueueShard; allServers: ServerSettings[] };
}

/** Shard `index` of `count` (`QUEUE_SHARD=index/count`, 1 <= index <= count). */
export interface QueueShard {
  index: number;
  count: number;
}

/** One (server, virtual proxy) pair that is polled. */
export interface PollTarget {
  serverName: string;
  virtualProxy: string;
}

/** Every (server, virtual proxy) that gets polled with these settings, in config order. */
export function listPollTargets(settings: Settings): PollTarget[] {
  if (!settings.userSessions.enableSessionExtract) return [];
  return settings.serversToMonitor.servers.flatMap((server) =>
    server.userSessions.enable
      ? server.userSessions.virtualProxies.map((virtualProxy) => ({
          serverName: server.serverName,
          virtualProxy,
        }))
      : [],
  );
}

export function findServer(settings: Settings, serverName: string): ServerSettings | undefined {
  return settings.serversToMonitor.servers.find((s) => s.serverName === serverName);
}
