import { z } from 'zod';
import { discoveredIdentitySchema } from './repository.js';
import { type QpsSession, sessionProblem } from './session.js';

/*
 * What travels through Redis. Every payload carries `v`, its schema version, so that a worker of an
 * older or newer release can refuse a job it does not understand instead of misreading it.
 * Job data is clear text in Redis and Bull Board: names and sessions only, never certificates or secrets.
 */

export const PAYLOAD_VERSION = 1 as const;

/** `v` of every payload: refuses another release's payload with a message that says so. */
export const payloadVersionSchema = z.literal(PAYLOAD_VERSION, {
  error: (iss) =>
    `unsupported payload version ${JSON.stringify(iss.input)} (this release reads version ${PAYLOAD_VERSION})`,
});
const version = payloadVersionSchema;

/**
 * What every poll job names: which (server, virtual proxy) to poll. The poller looks the server up in its
 * own config. The poll queue's catalog (@qsm/queues) adds when the poll is due and of which kind it is.
 */
export const pollJobFieldsSchema = z.object({
  v: version,
  serverName: z.string(),
  virtualProxy: z.string(),
  /** The polling interval the job was scheduled with. */
  intervalMs: z.number().int().positive(),
  /**
   * Set for a target found in the Qlik repository: who to poll and how to tag it, since no `servers[]`
   * entry (or no listed virtual proxy) tells the poller.
   */
  discovered: discoveredIdentitySchema.optional(),
});
export type PollJobFields = z.output<typeof pollJobFieldsSchema>;

/** A session as QPS served it (either case of field names, unknown fields kept): the poller's own check. */
export const sessionSchema = z.custom<QpsSession>().superRefine((value, ctx) => {
  const problem = sessionProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Who was polled: what every destination needs to tag a result, copied from the config at poll time. */
export const serverIdentitySchema = z.object({
  serverName: z.string(),
  serverDescription: z.string(),
  /** `servers[].host` without its port: Butler SOS's `host` tag. */
  hostName: z.string(),
  serverTags: z.record(z.string(), z.string()),
  /** QPS `host:port` (`user_session_host` tag; its host part names the MQTT topic). */
  qpsHost: z.string(),
  virtualProxy: z.string(),
});
const serverIdentity = serverIdentitySchema.shape;
export type ServerIdentity = z.output<typeof serverIdentitySchema>;

/** One successful poll: every session QPS returned, unfiltered (the blacklist is the InfluxDB sink's business). */
export const pollResultSchema = z.object({
  v: version,
  kind: z.literal('sessions'),
  ...serverIdentity,
  /** When the poll was made (ms since epoch): the InfluxDB timestamp of every point of this result. */
  polledAt: z.number().int(),
  durationMs: z.number(),
  /** A discovered target's inactivity timeout (minutes): an ended session was idle for at most this long. */
  sessionInactivityTimeoutMinutes: z.number().nonnegative().optional(),
  sessions: z.array(sessionSchema),
});
export type PollResult = z.output<typeof pollResultSchema>;

/** One failed poll, for Butler SOS's `butler_sos_errors` measurement. */
export const pollFailureSchema = z.object({
  v: version,
  kind: z.literal('error'),
  ...serverIdentity,
  failedAt: z.number().int(),
  /** QpsError category (`timeout`, `certificate_error`, ...). */
  category: z.string(),
  message: z.string(),
  url: z.string(),
  code: z.string().optional(),
  httpStatus: z.number().int().optional(),
  timeoutMs: z.number().int().optional(),
  attempt: z.number().int(),
});
export type PollFailure = z.output<typeof pollFailureSchema>;

/** One failed read of the Qlik repository by discovery, for `butler_sos_errors` (error_type QRS_API). */
export const repositoryFailureSchema = z.object({
  v: version,
  kind: z.literal('repository_error'),
  /** The repository's `host:port`. */
  repository: z.string(),
  failedAt: z.number().int(),
  category: z.string(),
  message: z.string(),
  url: z.string(),
  code: z.string().optional(),
  httpStatus: z.number().int().optional(),
  timeoutMs: z.number().int().optional(),
});
export type RepositoryFailure = z.output<typeof repositoryFailureSchema>;
