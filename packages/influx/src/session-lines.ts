import { createHmac } from 'node:crypto';
import type { ExcludedUser } from '@qsm/config';
import type { PollResult, ServerIdentity } from '@qsm/model';
import { type SessionIdentity, sessionIdentity } from '@qsm/model';
import { createBlacklist } from './blacklist.js';
import { type InfluxVersion, integerField, lineTemplate, lineTime, quotedField } from './line-protocol.js';

export type { InfluxVersion };

export interface SessionPointOptions {
  version: InfluxVersion;
  /** `Butler-SOS.userSessions.excludeUser`. */
  excludeUser: readonly ExcludedUser[];
  /** When set, a keyed hash replaces the raw SessionId (the live Qlik session cookie). */
  sessionIdHashKey?: string | undefined;
}

/** The tags a detail point has beyond the proxy's: in this order in the values a detail line is given. */
const DETAIL_TAGS = ['user_session_id', 'user_session_user_directory', 'user_session_user_id'];

/**
 * A PollResult as the line protocol of the points Butler SOS writes (`user_session_summary`,
 * `user_session_list`, one `user_session_details` per session), with the server tags on every InfluxDB
 * version and the poll time as timestamp. Blacklisted users are left out of everything, count and
 * user list included.
 */
export function buildSessionLines(result: PollResult, options: SessionPointOptions): string[] {
  const { aggregates, details } = buildSessionLineGroups(result, options);
  return [...aggregates, ...details];
}

/**
 * The same lines in two groups: the per-proxy aggregates (`user_session_summary`, `user_session_list`)
 * and the per-session `user_session_details`, which the sink writes apart when InfluxDB rejects a write.
 */
export function buildSessionLineGroups(
  result: PollResult,
  options: SessionPointOptions,
): { aggregates: string[]; details: string[] } {
  const excluded = createBlacklist(options.excludeUser);
  const sessions = identitiesOf(result).filter((s) => !excluded(s));
  const tags = proxyTags(result);
  const time = lineTime(result.polledAt);
  const count = `session_count=${integerField(sessions.length, options.version === 2)}`;
  const users = `session_user_id_list=${quotedField(uniqueUserList(sessions))}`;
  const aggregate = lineTemplate(options.version, tags);
  const summary = aggregate('user_session_summary', [], `${count},${users}`, time);
  // Butler SOS's v1 writer puts only the user list in user_session_list; v2 and v3 also the count.
  const list = aggregate('user_session_list', [], options.version === 1 ? users : `${count},${users}`, time);

  // Its own template: a session tag replaces a server tag of the same name in details only.
  const detail = lineTemplate(options.version, tags, DETAIL_TAGS);
  const hash = options.sessionIdHashKey ? sessionIdHasher(options.sessionIdHashKey) : undefined;
  const details = sessions.map((session) => {
    const sessionId = hash ? hash(session.sessionId) : session.sessionId;
    return detail(
      'user_session_details',
      [sessionId, session.directory, session.userId],
      `session_id=${quotedField(sessionId)},user_directory=${quotedField(session.directory)},user_id=${quotedField(session.userId)}`,
      time,
    );
  });
  return { aggregates: [summary, list], details };
}

/** The tags every point of one proxy carries; a later entry wins over an earlier one of the same name. */
export function proxyTags(result: ServerIdentity): Record<string, string> {
  const tags = serverTags(result);
  // With its slash: Butler SOS's dashboards filter on "/hdr", and "/" must not become an empty tag (#816).
  tags.user_session_virtual_proxy = result.virtualProxy;
  tags.user_session_host = result.qpsHost;
  return tags;
}

/** The tags of a server (as on every measurement): its host, name, description and custom tags. */
export function serverTags(
  server: Pick<ServerIdentity, 'hostName' | 'serverName' | 'serverDescription' | 'serverTags'>,
): Record<string, string> {
  const tags: Record<string, string> = {};
  const entries: Array<[string, string]> = [
    ['host', server.hostName],
    ['server_name', server.serverName],
    ['server_description', server.serverDescription],
    ...Object.entries(server.serverTags),
  ];
  for (const [name, value] of entries) tags[name] = value;
  return tags;
}

/** `LAB\goran,LAB\anna`: unique `directory\userId`, first-seen order, no spaces, "" when nobody is connected. */
export function uniqueUserList(
  sessions: ReadonlyArray<Pick<SessionIdentity, 'directory' | 'userId'>>,
): string {
  return [...new Set(sessions.map((s) => `${s.directory}\\${s.userId}`))].join(',');
}

/**
 * Who each session of a result belongs to. The job's schema let in only sessions that have an identity, so
 * a session without one cannot get here; were it to, it would not be counted rather than counted as nobody.
 */
function identitiesOf(result: PollResult): SessionIdentity[] {
  const identities: SessionIdentity[] = [];
  for (const session of result.sessions) {
    const identity = sessionIdentity(session);
    if (identity) identities.push(identity);
  }
  return identities;
}

/**
 * HMAC-SHA256 of the session id, as 32 hex characters: stable per session (count(distinct) keeps working)
 * but useless as a session cookie.
 */
export function sessionIdHasher(key: string): (sessionId: string) => string {
  return (sessionId) => createHmac('sha256', key).update(sessionId).digest('hex').slice(0, 32);
}
