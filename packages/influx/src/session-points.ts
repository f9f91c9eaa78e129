import { createHmac } from 'node:crypto';
import { Point } from '@influxdata/influxdb-client';
import type { ExcludedUser } from '@qsm/config';
import type { PollResult } from '@qsm/queues';
import { createBlacklist } from './blacklist.js';
import { tagValue } from './tag-value.js';

export type InfluxVersion = 1 | 2 | 3;

export interface SessionPointOptions {
  version: InfluxVersion;
  /** `Butler-SOS.userSessions.excludeUser`. */
  excludeUser: readonly ExcludedUser[];
  /** When set, a keyed hash replaces the raw SessionId (the live Qlik session cookie). */
  sessionIdHashKey?: string | undefined;
}

/**
 * A PollResult as the points Butler SOS writes (`user_session_summary`, `user_session_list`, one
 * `user_session_details` per session), with the server tags on every InfluxDB version and the poll
 * time as timestamp. Blacklisted users are left out of everything, count and user list included.
 */
export function buildSessionPoints(result: PollResult, options: SessionPointOptions): Point[] {
  const { aggregates, details } = buildSessionPointGroups(result, options);
  return [...aggregates, ...details];
}

/**
 * The same points in two groups: the per-proxy aggregates (`user_session_summary`, `user_session_list`)
 * and the per-session `user_session_details`, which the sink writes apart when InfluxDB rejects a write.
 */
export function buildSessionPointGroups(
  result: PollResult,
  options: SessionPointOptions,
): { aggregates: Point[]; details: Point[] } {
  const excluded = createBlacklist(options.excludeUser);
  const sessions = result.sessions.filter((s) => !excluded(s));
  const tags = commonTags(result);
  const users = uniqueUserList(sessions);
  const withTags = (measurement: string) => {
    const point = new Point(measurement).timestamp(result.polledAt);
    for (const [name, value] of tags) point.tag(name, value);
    return point;
  };
  const count = (point: Point) =>
    options.version === 2
      ? point.uintField('session_count', sessions.length)
      : point.intField('session_count', sessions.length);

  const summary = count(withTags('user_session_summary')).stringField('session_user_id_list', users);
  const list = withTags('user_session_list');
  // Butler SOS's v1 writer puts only the user list in user_session_list; v2 and v3 also the count.
  if (options.version !== 1) count(list);
  list.stringField('session_user_id_list', users);

  const hash = options.sessionIdHashKey ? sessionIdHasher(options.sessionIdHashKey) : undefined;
  const details = sessions.map((session) => {
    const sessionId = hash ? hash(session.SessionId) : session.SessionId;
    return withTags('user_session_details')
      .tag('user_session_id', tagValue(sessionId))
      .tag('user_session_user_directory', tagValue(session.UserDirectory))
      .tag('user_session_user_id', tagValue(session.UserId))
      .stringField('session_id', sessionId)
      .stringField('user_directory', session.UserDirectory)
      .stringField('user_id', session.UserId);
  });
  return { aggregates: [summary, list], details };
}

function commonTags(result: PollResult): Array<[string, string]> {
  return [
    ['host', result.hostName],
    ['server_name', result.serverName],
    ['server_description', result.serverDescription],
    ...Object.entries(result.serverTags),
    // With its slash: Butler SOS's dashboards filter on "/hdr", and "/" must not become an empty tag (#816).
    ['user_session_virtual_proxy', result.virtualProxy],
    ['user_session_host', result.qpsHost],
  ].map(([name, value]) => [name as string, tagValue(value as string)]);
}

/** `LAB\goran,LAB\anna`: unique `directory\userId`, first-seen order, no spaces, "" when nobody is connected. */
export function uniqueUserList(sessions: ReadonlyArray<{ UserDirectory: string; UserId: string }>): string {
  return [...new Set(sessions.map((s) => `${s.UserDirectory}\\${s.UserId}`))].join(',');
}

/**
 * HMAC-SHA256 of the session id, as 32 hex characters: stable per session (count(distinct) keeps working)
 * but useless as a session cookie.
 */
export function sessionIdHasher(key: string): (sessionId: string) => string {
  return (sessionId) => createHmac('sha256', key).update(sessionId).digest('hex').slice(0, 32);
}
