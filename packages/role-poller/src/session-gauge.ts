import { listPollTargets, type ServerSettings, type Settings } from '@qsm/config';
import type { Logger } from '@qsm/logging';
import { type DiscoveredPollTarget, readDiscoveredPollTargets } from '@qsm/model';
import { schedulerIdFor } from '@qsm/queues';
import type { DiscoveryStore, SessionCounts } from '@qsm/redis';
import { Gauge, type Registry } from 'prom-client';

const NAME = 'butlersos_user_session_total';

/** Prometheus label names allow [a-zA-Z_][a-zA-Z0-9_]*; custom tag names are made to fit. */
export function labelName(tag: string): string {
  const cleaned = tag.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[a-zA-Z_]/.test(cleaned) ? cleaned : `_${cleaned}`;
}

/** One series of the gauge: a polled (server, virtual proxy) and the tags it is labelled with. */
type GaugeTarget = Omit<DiscoveredPollTarget, 'node' | 'sessionInactivityTimeoutMinutes'>;

/** The tag names of the gauge's labels: every declared or configured custom tag. */
function customTagNames(settings: Settings): string[] {
  return [
    ...new Set([
      ...settings.serversToMonitor.serverTagsDefinition,
      ...settings.serversToMonitor.servers.flatMap((s) => Object.keys(s.serverTags)),
    ]),
  ];
}

function configuredTargets(settings: Settings): GaugeTarget[] {
  const servers = new Map<string, ServerSettings>(
    settings.serversToMonitor.servers.map((s) => [s.serverName, s]),
  );
  return listPollTargets(settings).flatMap((target) => {
    const server = servers.get(target.serverName);
    if (!server) return [];
    return [
      {
        hostName: server.hostName,
        serverName: server.serverName,
        serverDescription: server.serverDescription,
        serverTags: server.serverTags,
        qpsHost: server.userSessions.host,
        virtualProxy: target.virtualProxy,
      },
    ];
  });
}

/** One series of the gauge: the scheduler id its count is recorded under, and its labels. */
interface GaugeSeries {
  id: string;
  labels: Record<string, string>;
}

/**
 * The series of the gauge, configured targets first, each (server, virtual proxy) once. At 10,000 series
 * building them costs about as much as prom-client's serializing them, so the caller keeps them until the
 * config or the discovered targets change.
 */
function gaugeSeries(
  configured: readonly GaugeTarget[],
  discovered: readonly GaugeTarget[],
  tagNames: readonly string[],
): GaugeSeries[] {
  const tagLabels = tagNames.map((tag) => [tag, labelName(tag)] as const);
  const byId = new Map<string, GaugeSeries>();
  for (const target of [...configured, ...discovered]) {
    const id = schedulerIdFor(target);
    if (byId.has(id)) continue;
    // Label order is the order of the exported text (Butler SOS's): keep it.
    const labels: Record<string, string> = {
      host: target.hostName,
      server_name: target.serverName,
      server_description: target.serverDescription,
      user_session_virtual_proxy: target.virtualProxy,
      user_session_host: target.qpsHost,
    };
    for (const [tag, label] of tagLabels) labels[label] = target.serverTags[tag] ?? '';
    byId.set(id, { id, labels });
  }
  return [...byId.values()];
}

/**
 * Butler SOS's gauge `butlersos_user_session_total`: the session count of the last poll of every polled
 * (server, virtual proxy), with Butler SOS's labels. Counts come from Redis, so every poller exports the
 * same values. The targets are those of the config plus those that discovery found in the Qlik repository
 * (kept in Redis by the scheduler); a proxy that leaves either leaves the gauge.
 */
export function registerSessionGauge(
  registry: Registry,
  settings: () => Settings,
  counts: SessionCounts,
  discovery: Pick<DiscoveryStore, 'loadTargets'>,
  logger: Pick<Logger, 'debug'>,
) {
  let tagNames: string[] = [];
  // The series of the last scrape and what they were made from: the settings object (replaced, never
  // changed in place, on a config change), the discovered targets as stored and the custom tag names.
  let cache:
    | { settings: Settings; discoveredJson: string | null; tagNames: string[]; series: GaugeSeries[] }
    | undefined;

  /** The series for these settings and discovered targets, and whether they differ from the last call's. */
  const seriesFor = (
    current: Settings,
    discoveredJson: string | null,
  ): { series: GaugeSeries[]; changed: boolean } => {
    if (
      cache?.settings === current &&
      cache.discoveredJson === discoveredJson &&
      cache.tagNames === tagNames
    ) {
      return { series: cache.series, changed: false };
    }
    const { targets: discovered, problem } = readDiscoveredPollTargets(discoveredJson);
    if (problem) logger.debug({ problem }, 'discovered targets in Redis not understood');
    const series = gaugeSeries(configuredTargets(current), discovered, tagNames);
    cache = { settings: current, discoveredJson, tagNames, series };
    return { series, changed: true };
  };

  const create = () => {
    tagNames = customTagNames(settings());
    // The value of each series as the gauge holds it now (by scheduler id), kept between scrapes.
    const shown = new Map<string, number>();
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
        // Without Redis the gauge is left empty for this scrape; Redis going away is logged elsewhere.
        const read = await Promise.all([counts.all(), discovery.loadTargets()]).catch((error: unknown) => {
          logger.debug({ err: error }, 'session counts not read for the session gauge');
          return undefined;
        });
        if (!read) {
          this.reset();
          shown.clear();
          return;
        }
        const [latest, discoveredJson] = read;
        const { series, changed } = seriesFor(settings(), discoveredJson);
        if (changed) {
          this.reset();
          shown.clear();
        }
        // Setting a value costs prom-client a label check and a hash: only counts that changed are set.
        for (const { id, labels } of series) {
          const count = latest.get(id);
          const before = shown.get(id);
          if (count === before) continue;
          if (count === undefined) {
            this.remove(labels);
            shown.delete(id);
          } else {
            this.set(labels, count);
            shown.set(id, count);
          }
        }
      },
    });
  };

  create();
  return {
    /** Call after a config change: the labels follow the custom tags of the new config. */
    refresh() {
      if (customTagNames(settings()).join('\u0000') !== tagNames.join('\u0000')) create();
    },
  };
}
