import { formatHostPort, probeTcp } from '@qsm/net';
import type { ConfigProblem } from './config-error.js';
import { parseHostPort } from './host-port.js';
import type { Settings } from './settings.js';

interface Target {
  path: string;
  host: string;
  port: number;
  what: string;
}

/**
 * Tries a TCP connection to every host the settings name (QPS of each polled server, InfluxDB, the MQTT
 * broker) and reports the ones that cannot be reached, with their config path. For `validate-config --probe`.
 */
export async function probeHosts(settings: Settings, timeoutMs = 3000): Promise<ConfigProblem[]> {
  const targets: Target[] = [];
  const unreachable: ConfigProblem[] = [];
  settings.serversToMonitor.servers.forEach((server, i) => {
    if (!server.userSessions.enable) return;
    const path = `Butler-SOS.serversToMonitor.servers[${i}].userSessions.host`;
    const parsed = parseHostPort(server.userSessions.host);
    if (typeof parsed === 'string' || parsed.port === undefined) {
      // Only a template placeholder gets this far (the loader refuses other bad hosts): not a host to try.
      unreachable.push({
        path,
        message: `QPS of ${server.serverName}: ${server.userSessions.host} is not a host name`,
      });
      return;
    }
    targets.push({
      path,
      host: parsed.hostname,
      port: parsed.port,
      what: `QPS of ${server.serverName}`,
    });
  });
  const influx = settings.influxdbConfig;
  if (influx.enable)
    targets.push({
      path: 'Butler-SOS.influxdbConfig.host',
      host: influx.host,
      port: influx.port,
      what: 'InfluxDB',
    });
  const mqtt = settings.mqttConfig;
  if (mqtt.enable) {
    targets.push({
      path: 'Butler-SOS.mqttConfig.brokerHost',
      host: mqtt.brokerHost,
      port: mqtt.brokerPort,
      what: 'the MQTT broker',
    });
  }
  const results = await Promise.all(targets.map((t) => tryConnect(t, timeoutMs)));
  return [...unreachable, ...results.filter((r): r is ConfigProblem => r !== undefined)];
}

async function tryConnect(target: Target, timeoutMs: number): Promise<ConfigProblem | undefined> {
  const probe = await probeTcp(target.host, target.port, timeoutMs);
  if (probe.reachable) return undefined;
  const address = formatHostPort(target.host, target.port);
  const reason =
    probe.reason === 'timeout'
      ? `no answer from ${address} within ${timeoutMs} ms`
      : probe.code === 'ENOTFOUND' || probe.code === 'EAI_AGAIN'
        ? `host name ${target.host} not found`
        : probe.code === 'ECONNREFUSED'
          ? `nothing listens on ${address} (connection refused)`
          : `${address} unreachable (${probe.code ?? probe.message})`;
  return { path: target.path, message: `${target.what}: ${reason}` };
}
