import { listPollTargets, type ServerSettings, type Settings } from '@qsm/config';
import type { MetricsTexts } from '@qsm/host';
import type { Logger } from '@qsm/logging';
import { type DiscoveredPollTarget, readDiscoveredPollTargets } from '@qsm/model';
import { schedulerIdFor } from '@qsm/queues';
import type { DiscoveryStore, SessionCounts } from '@qsm/redis';

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

/** One series of the gauge: the scheduler id its count is recorded under, and its line up to the value. */
interface GaugeSeries {
  id: string;
  head: string;
}

/** A label value as prom-client escapes it in the text format. */
function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** A sample value as prom-client writes it. */
function sampleValue(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}

/**
 * The series of the gauge, configured targets first, each (server, virtual proxy) once, each with the text
 * of its line before the value. Building them costs more than a scrape may, so the caller keeps them until
 * the config or the discovered targets change.
 */
function gaugeSeries(
  configured: readonly GaugeTarget[],
  discovered: readonly GaugeTarget[],
  tagNames: readonly string[],
  defaultLabels: Readonly<Record<string, string>>,
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
    // As prom-client merges them: default labels last, unless a series has a label of that name.
    const all = { ...labels, ...defaultLabels, ...labels };
    const text = Object.entries(all).map(([name, value]) => `${name}="${escapeLabelValue(String(value))}"`);
    byId.set(id, { id, head: `${NAME}{${text.join(',')}} ` });
  }
  return [...byId.values()];
}

const HEADER = `# HELP ${NAME} Number of sessions (as reported by the proxy service).\n# TYPE ${NAME} gauge`;

/**
 * Butler SOS's gauge `butlersos_user_session_total`: the session count of the last poll of every polled
 * (server, virtual proxy), with Butler SOS's labels. Counts come from Redis, so every poller exports the
 * same values. The targets are those of the config plus those that discovery found in the Qlik repository
 * (kept in Redis by the scheduler); a proxy that leaves either leaves the gauge.
 *
 * The gauge is rendered here, not by prom-client: with 10,000 series prom-client's serializing them (the
 * default labels merged into each) took most of a scrape's time budget. Its text is prom-client's (the
 * unit test compares them), served after the registry's metrics; the last poller started on a process
 * serves it.
 */
export function registerSessionGauge(
  texts: MetricsTexts,
  settings: () => Settings,
  counts: SessionCounts,
  discovery: Pick<DiscoveryStore, 'loadTargets'>,
  logger: Pick<Logger, 'debug'>,
): void {
  // The series of the last scrape and what they were made from: the settings object (replaced, never
  // changed in place, on a config change) and the discovered targets as stored.
  let cache: { settings: Settings; discoveredJson: string | null; series: GaugeSeries[] } | undefined;

  const seriesFor = (current: Settings, discoveredJson: string | null): GaugeSeries[] => {
    if (cache?.settings === current && cache.discoveredJson === discoveredJson) return cache.series;
    const { targets: discovered, problem } = readDiscoveredPollTargets(discoveredJson);
    if (problem) logger.debug({ problem }, 'discovered targets in Redis not understood');
    const series = gaugeSeries(
      configuredTargets(current),
      discovered,
      customTagNames(current),
      texts.defaultLabels,
    );
    cache = { settings: current, discoveredJson, series };
    return series;
  };

  texts.sources.set(NAME, async () => {
    // Without Redis the gauge has no series for this scrape; Redis going away is logged elsewhere.
    const read = await Promise.all([counts.all(), discovery.loadTargets()]).catch((error: unknown) => {
      logger.debug({ err: error }, 'session counts not read for the session gauge');
      return undefined;
    });
    if (!read) return HEADER;
    const [latest, discoveredJson] = read;
    let text = HEADER;
    for (const { id, head } of seriesFor(settings(), discoveredJson)) {
      const count = latest.get(id);
      if (count !== undefined) text += `\n${head}${sampleValue(count)}`;
    }
    return text;
  });
}
