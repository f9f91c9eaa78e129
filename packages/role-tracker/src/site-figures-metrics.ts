import { metricOnce } from '@qsm/host';
import type { Logger } from '@qsm/logging';
import { parseStoredJson, siteFiguresRecordSchema } from '@qsm/model';
import type { SiteIntervals } from '@qsm/redis';
import { Counter, Gauge, type Registry } from 'prom-client';

type SiteFigure = keyof ReturnType<typeof siteFiguresRecordSchema.parse>['site'];

const GAUGES: Array<[name: string, figure: SiteFigure, help: string]> = [
  [
    'qsm_site_unique_users',
    'uniqueUsers',
    'Distinct users (directory\\id, case-insensitive) over every proxy of every server, in the latest interval written.',
  ],
  ['qsm_site_sessions', 'sessionCount', 'Sessions over the site in the latest interval written.'],
  [
    'qsm_site_max_sessions_per_user',
    'maxSessionsPerUser',
    'The most sessions one user had over the site in the latest interval written.',
  ],
  [
    'qsm_site_users_at_limit',
    'usersAtLimit',
    'Users with at least SESSION_LIMIT_WARN sessions over the site in the latest interval written.',
  ],
  [
    'qsm_site_proxies_polled',
    'proxiesPolled',
    'Proxies with a successful poll in the latest interval written.',
  ],
  [
    'qsm_site_proxies_failed',
    'proxiesFailed',
    'Proxies polled without a successful result in the latest interval written (they contribute their previous interval).',
  ],
];

/** How long one read of the latest figures serves the gauges: one read per scrape, not one per gauge. */
const READ_REUSE_MS = 1000;

/**
 * The site figures as gauges, without any user label, from the latest interval written (kept in Redis, so
 * every tracker exports the same values). The figures are the MQTT copy's: everyone, as
 * butlersos_user_session_total counts everyone; the blacklist is InfluxDB's only.
 */
export function registerSiteFiguresGauges(
  registry: Registry,
  intervals: Pick<SiteIntervals, 'latest'>,
  logger: Pick<Logger, 'debug'>,
): void {
  let read: { at: number; site: Promise<Record<SiteFigure, number> | undefined> } | undefined;
  const latest = () => {
    const now = Date.now();
    if (!read || now - read.at > READ_REUSE_MS) read = { at: now, site: readLatest() };
    return read.site;
  };
  const readLatest = async () => {
    try {
      const text = await intervals.latest();
      if (text === null) return undefined;
      const read = parseStoredJson(siteFiguresRecordSchema, text);
      if (read.ok) return read.value.site;
      logger.debug({ problem: read.problem }, 'latest site figures in Redis not understood');
    } catch (error) {
      // Without Redis the gauges are left empty for this scrape; Redis going away is logged elsewhere.
      logger.debug({ err: error }, 'latest site figures not read for the gauges');
    }
    return undefined;
  };
  for (const [name, figure, help] of GAUGES)
    metricOnce(
      registry,
      name,
      () =>
        new Gauge({
          name,
          help,
          registers: [registry],
          async collect() {
            this.reset();
            const site = await latest();
            if (site) this.set(site[figure]);
          },
        }),
    );
}

/** Interval jobs handled, by outcome (written, written_on_retry, already_written). */
export function siteIntervalsCounter(registry: Registry) {
  return metricOnce(
    registry,
    'qsm_site_intervals_total',
    () =>
      new Counter({
        name: 'qsm_site_intervals_total',
        help: 'Interval jobs of the site figures by outcome: written (this tracker claimed and delivered them), written_on_retry (delivered from the outbox another attempt claimed), already_written.',
        labelNames: ['outcome'],
        registers: [registry],
      }),
  );
}
