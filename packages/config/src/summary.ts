import type { ConfigProblem } from './config-error.js';
import { formatProblem } from './config-error.js';
import { listPollTargets, type Settings } from './settings.js';

/** A one-screen description of what these settings will do, for `validate-config`. */
export function summarizeSettings(settings: Settings, warnings: ConfigProblem[] = []): string {
  const lines: string[] = [];
  const { userSessions, serversToMonitor: s } = settings;
  const targets = listPollTargets(settings);
  lines.push(`config: ${settings.configFile}`);
  lines.push(
    userSessions.enableSessionExtract
      ? `sessions: polled every ${userSessions.pollingInterval} ms, ${targets.length} virtual prox${targets.length === 1 ? 'y' : 'ies'}, ${userSessions.excludeUser.length} blacklisted user(s)`
      : 'sessions: off (userSessions.enableSessionExtract is false)',
  );
  lines.push(`servers (${s.servers.length}), rejectUnauthorized: ${s.rejectUnauthorized}:`);
  for (const server of s.servers) {
    const vps = server.userSessions.enable
      ? `${server.userSessions.host} ${server.userSessions.virtualProxies.join(' ')}`
      : 'sessions off';
    const tags = Object.entries(server.serverTags)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    lines.push(`  ${server.serverName}: ${vps}${tags ? `  [${tags}]` : ''}`);
  }
  const influx = settings.influxdbConfig;
  if (!influx.enable) lines.push('influxdb: off');
  else {
    const target =
      influx.version === 1
        ? `database ${influx.v1Config.dbName}, retention policy ${influx.v1Config.retentionPolicy.name}`
        : influx.version === 2
          ? `org ${influx.v2Config.org}, bucket ${influx.v2Config.bucket}`
          : `database ${influx.v3Config.database}`;
    lines.push(
      `influxdb: v${influx.version} at ${influx.host}:${influx.port}, ${target}, batches of ${influx.maxBatchSize}`,
    );
  }
  lines.push(
    settings.errorTracking.influxdb && influx.enable
      ? `poll errors: measurement ${settings.errorTracking.measurementName}`
      : 'poll errors: not written to InfluxDB',
  );
  const mqtt = settings.mqttConfig;
  lines.push(
    mqtt.enable
      ? `mqtt: ${mqtt.brokerHost}:${mqtt.brokerPort}, topics ${mqtt.baseTopic}<qps host>/usersession<virtual proxy>`
      : 'mqtt: off',
  );
  const prom = settings.prometheus;
  lines.push(prom.enable ? `prometheus: ${prom.host}:${prom.port}` : 'prometheus: off');
  if (settings.cert)
    lines.push(`certificates: ${settings.cert.clientCert} (key ${settings.cert.clientCertKey})`);
  for (const w of warnings) lines.push(`warning: ${formatProblem(w)}`);
  return lines.join('\n');
}
