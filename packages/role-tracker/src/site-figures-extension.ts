import type { Settings, TrackerEnv } from '@qsm/config';
import type { RoleContext } from '@qsm/host';
import { formatIssues, trackSiteIntervalJobSchema } from '@qsm/model';
import { createResultDelivery, PermanentJobError } from '@qsm/queues';
import { createDiscoveryStore, createSiteIntervals } from '@qsm/redis';
import { createExpectedTargets } from './site-expected-targets.js';
import { registerSiteFiguresGauges, siteIntervalsCounter } from './site-figures-metrics.js';
import { createSiteIntervalHandler } from './site-interval-handler.js';
import { createSiteIntervalScheduler } from './site-interval-scheduler.js';
import { createSiteSummaryRecorder } from './site-summary-recorder.js';
import type { TrackerExtension } from './tracker.js';

/**
 * The site-wide figures per polling interval, riding on the tracker: each applied result (or a retry of
 * it) records its proxy's per-user counts for its interval, and the interval's job on the session-track
 * queue computes and delivers the figures once.
 */
export function createSiteFiguresExtension(
  context: RoleContext,
  env: Pick<TrackerEnv, 'SESSION_LIMIT_WARN'> &
    Partial<Pick<TrackerEnv, 'TRACKER_TEST_PAUSE_BEFORE_DELIVERY_MS'>>,
): TrackerExtension {
  const pauseMs = env.TRACKER_TEST_PAUSE_BEFORE_DELIVERY_MS ?? 0;
  const { connection, prefix } = context.queues;
  let settings: Settings = context.settings;
  const intervals = createSiteIntervals(connection, prefix);
  const scheduler = createSiteIntervalScheduler(context.queues, Date.now, context.logger);
  const delivery = createResultDelivery(context.queues);
  const expectedTargets = createExpectedTargets(
    () => settings,
    createDiscoveryStore(connection, prefix),
    context.logger,
  );
  const recorder = createSiteSummaryRecorder({
    intervals,
    scheduleInterval: scheduler.scheduleInterval,
    expectedTargets,
    computeNow: scheduler.computeNow,
    logger: context.logger,
  });
  const handle = createSiteIntervalHandler({
    intervals,
    expectedTargets,
    settings: () => settings,
    sessionLimitWarn: env.SESSION_LIMIT_WARN,
    async deliver(jobs) {
      await delivery.deliver(jobs);
    },
    scheduleInterval: scheduler.scheduleInterval,
    now: Date.now,
    logger: context.logger,
    ...(pauseMs > 0
      ? {
          async beforeDelivery(intervalStart: number) {
            context.logger.info(
              { intervalStart, pauseMs },
              "test fault hook: pausing between the site figures' claim and their delivery",
            );
            await new Promise((resolve) => setTimeout(resolve, pauseMs));
          },
        }
      : {}),
  });
  registerSiteFiguresGauges(context.registry, intervals, context.logger);
  const handled = siteIntervalsCounter(context.registry);

  return {
    async afterResult(result, outcome) {
      // A retry of the poll applied last records the same summary again: its first attempt may have died
      // before recording it.
      if (outcome.outcome !== 'older') await recorder.record(result);
    },
    takeJob(job) {
      const data = job.data as { kind?: unknown } | undefined;
      if (data?.kind !== 'site_interval') return undefined;
      const parsed = trackSiteIntervalJobSchema.safeParse(data);
      if (!parsed.success)
        return Promise.reject(new PermanentJobError('invalid_job', formatIssues(parsed.error.issues)));
      return handle({ start: parsed.data.intervalStart, ms: parsed.data.intervalMs }).then((outcome) => {
        handled.inc({ outcome });
        return { outcome };
      });
    },
    async applySettings(next) {
      settings = next;
    },
    async stop() {
      await delivery.close();
      await scheduler.close();
    },
  };
}
