import { listPollTargets, type Settings } from '@qsm/config';
import type { Logger } from '@qsm/logging';
import { schedulerIdFor } from '@qsm/queues';
import type { SessionCounts } from '@qsm/redis';
import { Gauge, type Registry } from 'prom-client';

const NAME = 'butlersos_user_session_total';

/** Prometheus label names allow [a-zA-Z_][a-zA-Z0-9_]*; custom tag names are made to fit. */
export function labelName(tag: string): string {
  const cleaned = tag.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[a-zA-Z_]/.test(cleaned) ? cleaned : `_${cleaned}`;
}

/**
 * Butler SOS's gauge `butlersos_user_session_total`: the session count of the last poll of every
 * (server, virtual proxy) in the config, with Butler SOS's labels. Counts come from Redis, so every poller
 * exports the same values; a proxy that leaves the config leaves the gauge.
 */
export function registerSessionGauge(
  registry: Registry,
  settings: () => Settings,
  counts: SessionCounts,
  logger: Pick<Logger, 'debug'>,
) {
  let tagNames: string[] = [];

  const create = () => {
    const current = settings();
    tagNames = [...new Set(current.serversToMonitor.servers.flatMap((s) => Object.keys(s.serverTags)))];
    if (registry.getSingleMetric(NAME)) registry.removeSingleMetric(NAME);
    new Gauge({
      name: NAME,
      help: 'Number of sessions (as reported by the proxy service).',
      labelNames: [
        'host',
        'server_name',
        'server_description',
        ...tagNames.map(labelName),
        'user_session_virtual_proxy',
        'user_session_host',
      ],
      registers: [registry],
      async collect() {
        this.reset();
        // Without Redis the gauge is left empty for this scrape; Redis going away is logged elsewhere.
        const latest = await counts.all().catch((error: unknown) => {
          logger.debug({ err: error }, 'session counts not read for the session gauge');
          return undefined;
        });
        if (!latest) return;
        const config = settings();
        for (const target of listPollTargets(config)) {
          const count = latest.get(schedulerIdFor(target));
          const server = config.serversToMonitor.servers.find((s) => s.serverName === target.serverName);
          if (count === undefined || !server) continue;
          const labels: Record<string, string> = {
            host: server.hostName,
            server_name: server.serverName,
            server_description: server.serverDescription,
            user_session_virtual_proxy: target.virtualProxy,
            user_session_host: server.userSessions.host,
          };
          for (const tag of tagNames) labels[labelName(tag)] = server.serverTags[tag] ?? '';
          this.set(labels, count);
        }
      },
    });
  };

  create();
  return {
    /** Call after a config change: the labels follow the custom tags of the new config. */
    refresh() {
      const next = [
        ...new Set(settings().serversToMonitor.servers.flatMap((s) => Object.keys(s.serverTags))),
      ];
      if (next.join('\u0000') !== tagNames.join('\u0000')) create();
    },
  };
}
