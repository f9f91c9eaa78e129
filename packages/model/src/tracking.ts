import { z } from 'zod';
import { payloadVersionSchema, pollResultSchema, serverIdentitySchema } from './payloads.js';

/*
 * Session tracking: what the poller hands to the tracker, and what the tracker hands to the sinks. The
 * tracker compares each proxy's successful polls with the one before and derives session starts and ends
 * (SessionEvents), and once per polling interval the figures of the whole site (SiteFigures).
 */

const version = payloadVersionSchema;

/** A session as the tracker needs it: who, and its id. */
export const trackedSessionSchema = z.object({
  sessionId: z.string(),
  userDirectory: z.string(),
  userId: z.string(),
});
export type TrackedSession = z.output<typeof trackedSessionSchema>;

/**
 * A successful poll handed to the tracker (queue `session-track`), in the same atomic step as its sink
 * jobs and with the same job id. Only the identity of each session travels: the tracker reads nothing else.
 */
export const trackResultJobSchema = pollResultSchema.omit({ sessions: true, kind: true }).extend({
  kind: z.literal('track_result'),
  /** The start of the polling interval the poll was due in (a multiple of intervalMs). */
  intervalStart: z.number().int(),
  intervalMs: z.number().int().positive(),
  sessions: z.array(trackedSessionSchema),
});
export type TrackResultJob = z.output<typeof trackResultJobSchema>;

/**
 * A (server, virtual proxy) that is no longer polled (it left the config, or discovery no longer finds it):
 * its open sessions end with reason `not_monitored` at `retiredAt`, and its tracking state is deleted.
 */
export const trackRetireJobSchema = z.object({
  v: version,
  kind: z.literal('track_retire'),
  serverName: z.string(),
  virtualProxy: z.string(),
  /** When the scheduler removed the proxy's schedule: the time of the `not_monitored` ends. */
  retiredAt: z.number().int(),
});
export type TrackRetireJob = z.output<typeof trackRetireJobSchema>;

export const trackJobSchema = z.discriminatedUnion('kind', [trackResultJobSchema, trackRetireJobSchema]);
export type TrackJob = z.output<typeof trackJobSchema>;

export const SESSION_END_REASONS = ['gone', 'proxy_restart', 'not_monitored'] as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

/** One session that appeared (`start`) or disappeared (`end`) between two successful polls of one proxy. */
export const sessionEventSchema = z.object({
  event: z.enum(['start', 'end']),
  sessionId: z.string(),
  userDirectory: z.string(),
  userId: z.string(),
  /** Poll time of the first result that had the session. */
  firstSeen: z.number().int(),
  /** Poll time of the last result that had it (for a start: firstSeen). */
  lastSeen: z.number().int(),
  /** False when the session was there at the first poll of the proxy (or after its state was lost). */
  startKnown: z.boolean(),
  /** Ends only. */
  reason: z.enum(SESSION_END_REASONS).optional(),
});
export type SessionEvent = z.output<typeof sessionEventSchema>;

/** The events of one proxy from one poll (or from its retirement), for InfluxDB and MQTT. */
export const sessionEventsRecordSchema = z.object({
  v: version,
  kind: z.literal('session_events'),
  ...serverIdentitySchema.shape,
  /** The event time: the poll time of the result that showed the change (or the retirement time). */
  time: z.number().int(),
  pollIntervalMs: z.number().int().positive(),
  events: z.array(sessionEventSchema).min(1),
});
export type SessionEventsRecord = z.output<typeof sessionEventsRecordSchema>;

/** Distinct users and sessions over some proxies. */
export const userCountsSchema = z.object({
  uniqueUsers: z.number().int().nonnegative(),
  sessionCount: z.number().int().nonnegative(),
});

export const siteFiguresSchema = userCountsSchema.extend({
  maxSessionsPerUser: z.number().int().nonnegative(),
  usersAtLimit: z.number().int().nonnegative(),
  proxiesPolled: z.number().int().nonnegative(),
  proxiesFailed: z.number().int().nonnegative(),
});

/**
 * A user with at least SESSION_LIMIT_WARN sessions over the site, and where they are: `proxyCount` places
 * in all, of which `proxies` lists the ones with the most sessions (the list is cut, see the site figures).
 */
export const userAtLimitSchema = z
  .object({
    userDirectory: z.string(),
    userId: z.string(),
    sessions: z.number().int().positive(),
    /** Optional on input: a record of an older release, still queued, listed every place. */
    proxyCount: z.number().int().positive().optional(),
    proxies: z.array(
      z.object({
        serverName: z.string(),
        qpsHost: z.string(),
        virtualProxy: z.string(),
        sessions: z.number().int().positive(),
      }),
    ),
  })
  .transform(({ userDirectory, userId, sessions, proxyCount, proxies }) => ({
    userDirectory,
    userId,
    sessions,
    proxyCount: proxyCount ?? proxies.length,
    proxies,
  }));

/**
 * The figures of one polling interval over the whole site, and per server. The InfluxDB copy is computed
 * without the excludeUser blacklist's users; the MQTT copy with everyone.
 */
export const siteFiguresRecordSchema = z.object({
  v: version,
  kind: z.literal('site_figures'),
  /** The interval's start: the time of its points. */
  intervalStart: z.number().int(),
  intervalMs: z.number().int().positive(),
  sessionLimitWarn: z.number().int().positive(),
  site: siteFiguresSchema,
  servers: z.array(
    userCountsSchema.extend({
      serverName: z.string(),
      serverDescription: z.string(),
      hostName: z.string(),
      serverTags: z.record(z.string(), z.string()),
    }),
  ),
  usersAtLimit: z.array(userAtLimitSchema),
});
export type SiteFiguresRecord = z.output<typeof siteFiguresRecordSchema>;

/**
 * The end of a polling interval (queue `session-track`, one job per interval start): the tracker computes
 * the interval's site figures from the summaries its results left, and delivers them once.
 */
export const trackSiteIntervalJobSchema = z.object({
  v: version,
  kind: z.literal('site_interval'),
  intervalStart: z.number().int(),
  intervalMs: z.number().int().positive(),
});
export type TrackSiteIntervalJob = z.output<typeof trackSiteIntervalJobSchema>;
