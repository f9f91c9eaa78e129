import { connect } from 'node:net';
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

function tryConnect(target: Target, timeoutMs: number): Promise<ConfigProblem | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    const done = (problem?: string) => {
      socket.destroy();
      resolve(problem ? { path: target.path, message: `${target.what}: ${problem}` } : undefined);
    };
    socket.setTimeout(timeoutMs, () =>
      done(`no answer from ${target.host}:${target.port} within ${timeoutMs} ms`),
    );
    socket.once('connect', () => done());
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const reason =
        error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN'
          ? `host name ${target.host} not found`
          : error.code === 'ECONNREFUSED'
            ? `nothing listens on ${target.host}:${target.port} (connection refused)`
            : `${target.host}:${target.port} unreachable (${error.code ?? error.message})`;
      done(reason);
    });
  });
}
