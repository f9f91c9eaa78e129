import { registerCommands } from './commands.js';
import type { RedisConnection } from './connection.js';
import { siteIntervalDoneKey, siteIntervalKey, siteIntervalOutboxKey, siteLatestKey } from './keys.js';

/*
 * What the site-wide figures of a polling interval are computed from, and the step that makes them
 * exactly-once: per interval, a hash of each proxy's summary (target key -> "<polledAt>|<summary>"), and,
 * once the figures are computed, a done-marker and an outbox of the computed records, written together.
 */

/**
 * How long an interval's summaries live: three intervals (the interval itself, and the next one's
 * "previous"), and at least a minute, so that a tracker restarting meanwhile still finds them.
 */
export function siteSummaryTtlMs(intervalMs: number): number {
  return Math.max(3 * intervalMs, 60_000);
}

/**
 * How long an interval's done-marker (and an undelivered outbox) lives: long enough that a result that
 * arrives very late, and adds the interval's job again, finds the figures already written.
 */
export const SITE_INTERVAL_DONE_TTL_MS = 24 * 60 * 60_000;

/** What claiming an interval's figures found. */
export type SiteIntervalClaim =
  /** This caller was first: its records are the interval's, to be delivered and then released. */
  | { outcome: 'won' }
  /** Another attempt claimed it and its records are not delivered yet: deliver these (same job ids). */
  | { outcome: 'undelivered'; outbox: string }
  /** The interval's figures went out already. */
  | { outcome: 'delivered' };

export interface SiteIntervals {
  /**
   * Records a proxy's summary for the interval (`written` false when a later poll's is there), and says
   * how many proxies have one for it now.
   */
  record(
    interval: { start: number; ms: number },
    targetKey: string,
    polledAt: number,
    summary: string,
  ): Promise<{ written: boolean; reported: number }>;
  /** Every summary recorded for the interval, by target key. */
  summaries(intervalStart: number): Promise<Map<string, string>>;
  /** The target keys of the proxies with a summary for the interval. */
  reported(intervalStart: number): Promise<string[]>;
  /** Marks the interval's figures as computed and keeps `outbox` until delivered, unless another caller did. */
  claim(intervalStart: number, outbox: string): Promise<SiteIntervalClaim>;
  /** Deletes the outbox once its records are in the sink queues; the marker stays. */
  delivered(intervalStart: number): Promise<void>;
  /** Keeps `figures` as the latest written, unless a later interval's are there already. */
  setLatest(intervalStart: number, figures: string): Promise<void>;
  /** The figures of the latest interval written, shared by every tracker (for its gauges). */
  latest(): Promise<string | null>;
}

export function createSiteIntervals(connection: RedisConnection, prefix: string): SiteIntervals {
  const redis = registerCommands(connection);
  return {
    async record(interval, targetKey, polledAt, summary) {
      const [written, reported] = await redis.qsmRecordSiteSummary(
        siteIntervalKey(prefix, interval.start),
        targetKey,
        String(polledAt),
        summary,
        String(siteSummaryTtlMs(interval.ms)),
      );
      return { written: written === 1, reported };
    },
    async reported(intervalStart) {
      return redis.hkeys(siteIntervalKey(prefix, intervalStart));
    },
    async summaries(intervalStart) {
      const fields = await redis.hgetall(siteIntervalKey(prefix, intervalStart));
      const summaries = new Map<string, string>();
      for (const [targetKey, value] of Object.entries(fields)) {
        const bar = value.indexOf('|');
        if (bar > 0) summaries.set(targetKey, value.slice(bar + 1));
      }
      return summaries;
    },
    async claim(intervalStart, outbox) {
      const [won, existing] = await redis.qsmClaimSiteInterval(
        siteIntervalDoneKey(prefix, intervalStart),
        siteIntervalOutboxKey(prefix, intervalStart),
        outbox,
        String(SITE_INTERVAL_DONE_TTL_MS),
      );
      if (won === 1) return { outcome: 'won' };
      return existing === undefined ? { outcome: 'delivered' } : { outcome: 'undelivered', outbox: existing };
    },
    async delivered(intervalStart) {
      await redis.del(siteIntervalOutboxKey(prefix, intervalStart));
    },
    async setLatest(intervalStart, figures) {
      await redis.qsmSetLatestSiteFigures(siteLatestKey(prefix), String(intervalStart), figures);
    },
    async latest() {
      return redis.hget(siteLatestKey(prefix), 'figures');
    },
  };
}
