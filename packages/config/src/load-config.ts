import { readFileSync } from 'node:fs';
import path from 'node:path';
import { formatPath } from '@qsm/model';
import { LineCounter, parseDocument } from 'yaml';
import {
  certSchema,
  enabledSwitch,
  errorTrackingSchema,
  influxCommonSchema,
  influxV1Schema,
  influxV2Schema,
  influxV3Schema,
  mqttSchema,
  prometheusSchema,
  serverSchema,
  serversToMonitorSchema,
  userSessionsSchema,
  userSessionsSwitchSchema,
} from './butler-sos-schema.js';
import { checkCertificateFiles, resolveCertificateFile } from './certificates.js';
import { ConfigError, type ConfigProblem } from './config-error.js';
import { hostWithoutPort, isTemplatePlaceholder } from './host-port.js';
import type {
  AppNamesSettings,
  CertificateSettings,
  ErrorTrackingSettings,
  InfluxSettings,
  MqttSettings,
  PrometheusSettings,
  ServerSettings,
  Settings,
  UserSessionsSettings,
} from './settings.js';
import { check } from './validate.js';

const ROOT = 'Butler-SOS';
const DEFAULT_POLLING_INTERVAL = 30_000;
const DEFAULT_ERROR_MEASUREMENT = 'butler_sos_errors';
/** Tag names this product writes itself; a custom server tag with one of these names would overwrite it. */
const RESERVED_TAGS = new Set([
  'host',
  'server_name',
  'server_description',
  'user_session_virtual_proxy',
  'user_session_host',
  'user_session_id',
  'user_session_user_directory',
  'user_session_user_id',
]);
const PROMETHEUS_LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export interface LoadOptions {
  /** Also read the certificate files and try the key passphrase (pollers need them; sinks do not). */
  checkCertificates?: boolean;
}

export interface LoadedConfig {
  settings: Settings;
  /** Things that are allowed but probably not meant (unknown keys, odd base topic). */
  warnings: ConfigProblem[];
}

/** Reads, parses and validates a Butler SOS config file. Throws ConfigError listing every problem. */
export function loadConfigFile(file: string, options: LoadOptions = {}): LoadedConfig {
  const configFile = path.resolve(file);
  let source: string;
  try {
    source = readFileSync(configFile, 'utf8');
  } catch (error) {
    throw new ConfigError(configFile, [{ path: '', message: `cannot read the file (${errorCode(error)})` }]);
  }
  return parseConfig(source, configFile, options);
}

/** Validates the text of a Butler SOS config file; `configFile` names it in errors and anchors relative paths. */
export function parseConfig(source: string, configFile: string, options: LoadOptions = {}): LoadedConfig {
  const lineCounter = new LineCounter();
  // As Butler SOS's parser (js-yaml, through node-config) reads it: duplicate keys are errors, and merge
  // keys (`<<: *defaults`) merge, which YAML 1.2 leaves to the parser.
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      configFile,
      doc.errors.map((e) => {
        const pos = e.pos[0] === undefined ? undefined : lineCounter.linePos(e.pos[0]);
        const where = pos ? `line ${pos.line}, column ${pos.col}` : 'unknown position';
        return { path: '', message: `YAML syntax error at ${where}: ${e.message.split('\n')[0]}` };
      }),
    );
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  return validateConfig(data, configFile, options);
}

/** Validates an already parsed Butler SOS config document. */
export function validateConfig(data: unknown, configFile: string, options: LoadOptions = {}): LoadedConfig {
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const root = isRecord(data) ? data[ROOT] : undefined;
  if (!isRecord(root)) {
    throw new ConfigError(configFile, [
      { path: ROOT, message: `required: the file must have a "${ROOT}:" mapping at its top level` },
    ]);
  }

  const userSessions = readUserSessions(root.userSessions, problems, warnings);
  const prometheus = readPrometheus(root.prometheus, problems);
  const servers = readServers(root.serversToMonitor, prometheus.enable, problems, warnings);
  const pollsSessions =
    userSessions.enableSessionExtract && (servers?.servers.some((s) => s.userSessions.enable) ?? false);
  const cert = readCert(root.cert, path.dirname(configFile), pollsSessions, problems);
  const influxdbConfig = readInflux(root.influxdbConfig, problems);
  const mqttConfig = readMqtt(root.mqttConfig, problems, warnings);
  const errorTracking = readErrorTracking(root.errorTracking, problems);
  const appNames = readAppNames(root.appNames);

  if (servers) warnings.push(...placeholderWarnings(servers.servers));
  if (userSessions.enableSessionExtract && servers && servers.servers.length === 0) {
    warnings.push({
      path: `${ROOT}.serversToMonitor.servers`,
      message: 'no servers: session monitoring is on but nothing will be polled',
    });
  }
  if (cert && options.checkCertificates && problems.length === 0) {
    problems.push(...checkCertificateFiles(cert));
  }
  if (problems.length > 0 || !servers) throw new ConfigError(configFile, problems);

  return {
    settings: {
      configFile,
      ...(appNames ? { appNames } : {}),
      userSessions,
      serversToMonitor: servers,
      cert,
      influxdbConfig,
      mqttConfig,
      prometheus,
      errorTracking,
    },
    warnings,
  };
}

function readUserSessions(raw: unknown, problems: ConfigProblem[], warnings: ConfigProblem[]) {
  const where = [ROOT, 'userSessions'];
  // The section is optional: without it, Butler SOS's documented defaults apply.
  const defaults: UserSessionsSettings = {
    enableSessionExtract: true,
    pollingInterval: DEFAULT_POLLING_INTERVAL,
    excludeUser: [],
  };
  if (raw === undefined) return defaults;
  const toggle = check(userSessionsSwitchSchema, raw, where, problems);
  if (!toggle) return { ...defaults, enableSessionExtract: false };
  if (!toggle.enableSessionExtract) return { ...defaults, enableSessionExtract: false };
  const parsed = check(userSessionsSchema, raw, where, problems);
  warnUnknownKeys(raw, ['enableSessionExtract', 'pollingInterval', 'excludeUser'], where, warnings);
  if (!parsed) return defaults;
  return {
    enableSessionExtract: true,
    pollingInterval: parsed.pollingInterval,
    excludeUser: parsed.excludeUser.map((u) => ({ directory: u.directory, userId: u.userId })),
  } satisfies UserSessionsSettings;
}

function readServers(
  raw: unknown,
  prometheusEnabled: boolean,
  problems: ConfigProblem[],
  warnings: ConfigProblem[],
) {
  const where = [ROOT, 'serversToMonitor'];
  const section = check(serversToMonitorSchema, raw, where, problems);
  if (!section) return undefined;
  warnUnknownKeys(
    raw,
    ['pollingInterval', 'rejectUnauthorized', 'serverTagsDefinition', 'servers'],
    where,
    warnings,
  );
  checkTagDefinitions(section.serverTagsDefinition, prometheusEnabled, problems);
  const declaredTags = new Set(section.serverTagsDefinition);
  const servers: ServerSettings[] = [];
  const names = new Map<string, number>();
  section.servers.forEach((rawServer, index) => {
    const at = [...where, 'servers', index];
    const server = check(serverSchema, rawServer, at, problems);
    if (!server) return;
    warnUnknownKeys(
      rawServer,
      ['host', 'serverName', 'serverDescription', 'userSessions', 'serverTags', 'headers'],
      at,
      warnings,
    );
    const first = names.get(server.serverName);
    if (first !== undefined) {
      problems.push({
        path: formatPath([...at, 'serverName']),
        message: `"${server.serverName}" is already the name of servers[${first}]; server names must be unique`,
      });
    } else names.set(server.serverName, index);
    const prefixes = server.userSessions.virtualProxies?.map((v) => v.virtualProxy) ?? [];
    prefixes.forEach((prefix, i) => {
      if (prefixes.indexOf(prefix) !== i)
        problems.push({
          path: formatPath([...at, 'userSessions', 'virtualProxies', i, 'virtualProxy']),
          message: `"${prefix}" is listed twice for this server`,
        });
    });
    checkServerTags(server.serverTags, declaredTags, formatPath([...at, 'serverTags']), problems);
    servers.push({
      host: server.host,
      hostName: hostWithoutPort(server.host),
      serverName: server.serverName,
      serverDescription: server.serverDescription,
      userSessions: {
        enable: server.userSessions.enable,
        host: server.userSessions.host ?? '',
        virtualProxies: prefixes,
      },
      serverTags: Object.fromEntries(Object.entries(server.serverTags).map(([k, v]) => [k, String(v)])),
    });
  });
  return {
    rejectUnauthorized: section.rejectUnauthorized,
    serverTagsDefinition: section.serverTagsDefinition,
    servers,
  };
}

/**
 * Host names still holding a placeholder of Butler SOS's template (`<server1.my.domain>:4243`). Butler SOS
 * loads such a file and fails when it connects; so does this product, after saying so once, here.
 */
function placeholderWarnings(servers: ServerSettings[]): ConfigProblem[] {
  const found: ConfigProblem[] = [];
  const warn = (at: string, value: string, consequence: string) => {
    if (isTemplatePlaceholder(value))
      found.push({
        path: at,
        message: `"${value}" is a placeholder of Butler SOS's template: fill it in (until then, ${consequence})`,
      });
  };
  servers.forEach((server, i) => {
    const at = `${ROOT}.serversToMonitor.servers[${i}]`;
    warn(`${at}.host`, server.host, `this server's points carry the tag host="${server.hostName}"`);
    if (server.userSessions.enable)
      warn(`${at}.userSessions.host`, server.userSessions.host, 'every poll of this server fails');
  });
  return found;
}

function checkTagDefinitions(definitions: string[], prometheusEnabled: boolean, problems: ConfigProblem[]) {
  const at = `${ROOT}.serversToMonitor.serverTagsDefinition`;
  definitions.forEach((tag, i) => {
    if (RESERVED_TAGS.has(tag))
      problems.push({
        path: `${at}[${i}]`,
        message: `"${tag}" is a tag this product writes itself; choose another name`,
      });
    else if (prometheusEnabled && !PROMETHEUS_LABEL.test(tag))
      problems.push({
        path: `${at}[${i}]`,
        message: `"${tag}" is not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*), required while prometheus.enable is true`,
      });
  });
}

/** Butler SOS's cross-check: every declared tag on every server, with a value, and no undeclared tags. */
function checkServerTags(
  tags: Record<string, string | number | boolean | null>,
  declared: Set<string>,
  at: string,
  problems: ConfigProblem[],
) {
  for (const tag of declared) {
    if (!Object.hasOwn(tags, tag))
      problems.push({ path: `${at}.${tag}`, message: 'required: declared in serverTagsDefinition' });
    else if (tags[tag] === null)
      problems.push({
        path: `${at}.${tag}`,
        message: 'must have a value (declared in serverTagsDefinition)',
      });
  }
  for (const tag of Object.keys(tags)) {
    if (!declared.has(tag))
      problems.push({
        path: `${at}.${tag}`,
        message: `unknown tag: add "${tag}" to serversToMonitor.serverTagsDefinition or remove it`,
      });
  }
}

function readCert(raw: unknown, baseDir: string, required: boolean, problems: ConfigProblem[]) {
  if (raw === undefined && !required) return null;
  const cert = check(certSchema, raw, [ROOT, 'cert'], problems);
  if (!cert) return null;
  return {
    clientCert: resolveCertificateFile(cert.clientCert, baseDir),
    clientCertKey: resolveCertificateFile(cert.clientCertKey, baseDir),
    clientCertCA: resolveCertificateFile(cert.clientCertCA, baseDir),
    clientCertPassphrase: cert.clientCertPassphrase,
  } satisfies CertificateSettings;
}

function readInflux(raw: unknown, problems: ConfigProblem[]): InfluxSettings {
  const where = [ROOT, 'influxdbConfig'];
  if (raw === undefined) return { enable: false };
  const toggle = check(enabledSwitch, raw, where, problems);
  if (!toggle?.enable) return { enable: false };
  const common = check(influxCommonSchema, raw, where, problems);
  if (!common || !isRecord(raw)) return { enable: false };
  const base = {
    enable: true as const,
    host: common.host,
    port: common.port,
    maxBatchSize: common.maxBatchSize,
  };
  switch (common.version) {
    case 1: {
      const v1 = check(influxV1Schema, raw.v1Config, [...where, 'v1Config'], problems);
      if (!v1) return { enable: false };
      return {
        ...base,
        version: 1,
        v1Config: {
          auth: {
            enable: v1.auth.enable,
            username: v1.auth.username ?? '',
            password: v1.auth.password ?? '',
          },
          dbName: v1.dbName,
          retentionPolicy: { name: v1.retentionPolicy.name, duration: v1.retentionPolicy.duration },
        },
      };
    }
    case 2: {
      const v2 = check(influxV2Schema, raw.v2Config, [...where, 'v2Config'], problems);
      if (!v2) return { enable: false };
      const { org, bucket, description, token, retentionDuration } = v2;
      return { ...base, version: 2, v2Config: { org, bucket, description, token, retentionDuration } };
    }
    case 3: {
      const v3 = check(influxV3Schema, raw.v3Config, [...where, 'v3Config'], problems);
      if (!v3) return { enable: false };
      const { database, description, token, retentionDuration, writeTimeout, queryTimeout } = v3;
      return {
        ...base,
        version: 3,
        v3Config: { database, description, token, retentionDuration, writeTimeout, queryTimeout },
      };
    }
  }
}

function readMqtt(raw: unknown, problems: ConfigProblem[], warnings: ConfigProblem[]): MqttSettings {
  const where = [ROOT, 'mqttConfig'];
  if (raw === undefined) return { enable: false };
  const toggle = check(enabledSwitch, raw, where, problems);
  if (!toggle?.enable) return { enable: false };
  const mqtt = check(mqttSchema, raw, where, problems);
  if (!mqtt) return { enable: false };
  if (mqtt.baseTopic !== '' && !mqtt.baseTopic.endsWith('/'))
    warnings.push({
      path: formatPath([...where, 'baseTopic']),
      message: `does not end with "/": topics will read "${mqtt.baseTopic}<host>/usersession/..." as in Butler SOS`,
    });
  if (/[+#\u0000]/.test(mqtt.baseTopic))
    problems.push({
      path: formatPath([...where, 'baseTopic']),
      message: 'must not contain the MQTT wildcards "+" or "#", or NUL',
    });
  return {
    enable: true,
    brokerHost: mqtt.brokerHost,
    brokerPort: mqtt.brokerPort,
    baseTopic: mqtt.baseTopic,
  };
}

function readPrometheus(raw: unknown, problems: ConfigProblem[]): PrometheusSettings {
  const where = [ROOT, 'prometheus'];
  if (raw === undefined) return { enable: false };
  const toggle = check(enabledSwitch, raw, where, problems);
  if (!toggle?.enable) return { enable: false };
  const prom = check(prometheusSchema, raw, where, problems);
  if (!prom) return { enable: false };
  return { enable: true, host: prom.host || '0.0.0.0', port: prom.port };
}

/**
 * Only `hostIP` is read, and leniently: Butler SOS's app-name extraction is not this product's business, so
 * a value that is not a host name is checked where it is used (discovery), not here.
 */
function readAppNames(raw: unknown): AppNamesSettings | undefined {
  if (!isRecord(raw)) return undefined;
  const hostIP = raw.hostIP;
  if (typeof hostIP !== 'string' || hostIP.trim() === '' || isTemplatePlaceholder(hostIP)) return undefined;
  return { hostIP: hostIP.trim() };
}

function readErrorTracking(raw: unknown, problems: ConfigProblem[]): ErrorTrackingSettings {
  // Failed polls are worth recording even when a config predates Butler SOS's errorTracking section.
  if (raw === undefined) return { influxdb: true, measurementName: DEFAULT_ERROR_MEASUREMENT };
  const parsed = check(errorTrackingSchema, raw, [ROOT, 'errorTracking'], problems);
  if (!parsed) return { influxdb: true, measurementName: DEFAULT_ERROR_MEASUREMENT };
  return {
    influxdb: parsed.enable && (parsed.influxdb?.enable ?? true),
    measurementName: parsed.influxdb?.measurementName ?? DEFAULT_ERROR_MEASUREMENT,
  };
}

function warnUnknownKeys(
  raw: unknown,
  known: string[],
  where: ReadonlyArray<PropertyKey>,
  warnings: ConfigProblem[],
) {
  if (!isRecord(raw)) return;
  for (const key of Object.keys(raw)) {
    if (!known.includes(key))
      warnings.push({ path: formatPath([...where, key]), message: 'unknown key, ignored (a typo?)' });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}
