import type { ExcludedUser } from '@qsm/config';
import type { SessionEvent, SessionEventsRecord } from '@qsm/model';
import { createBlacklist } from './blacklist.js';
import { type InfluxVersion, integerField, lineTemplate, lineTime, quotedField } from './line-protocol.js';
import { proxyTags, sessionIdHasher } from './session-lines.js';

export interface SessionEventPointOptions {
  version: InfluxVersion;
  /** `Butler-SOS.userSessions.excludeUser`: these users' events are not written. */
  excludeUser: readonly ExcludedUser[];
  /** When set, a keyed hash replaces the raw SessionId (the live Qlik session cookie). */
  sessionIdHashKey?: string | undefined;
}

/** The tags an event point has beyond the proxy's: in this order in the values a line is given. */
const EVENT_TAGS = ['user_session_user_directory', 'user_session_user_id', 'event'];

/**
 * The tracker's session events of one proxy as `user_session_events` points: the proxy's tags (as on
 * `user_session_details`), who and which event as tags, the session's times as integer fields
 * (milliseconds) and, for an end, its duration (`last_seen - first_seen`, a lower bound) and reason.
 *
 * Every event of a record has the record's time (the poll that showed the change). A user with two
 * sessions that start (or end) in the same poll would give two points with the same tags and time, and
 * InfluxDB keeps only the last of those: the n-th event of the record is written n nanoseconds after the
 * poll time, within its millisecond. The offset is the event's place in the record, so a retried record
 * writes the same points again instead of new ones. Events of excluded users are left out.
 */
export function buildSessionEventLines(
  record: SessionEventsRecord,
  options: SessionEventPointOptions,
): string[] {
  const excluded = createBlacklist(options.excludeUser);
  const line = lineTemplate(options.version, proxyTags(record), EVENT_TAGS);
  const hash = options.sessionIdHashKey ? sessionIdHasher(options.sessionIdHashKey) : undefined;
  const lines: string[] = [];
  record.events.forEach((event, index) => {
    if (excluded({ directory: event.userDirectory, userId: event.userId })) return;
    const sessionId = hash ? hash(event.sessionId) : event.sessionId;
    lines.push(
      line(
        'user_session_events',
        [event.userDirectory, event.userId, event.event],
        eventFields(event, sessionId),
        lineTime(record.time, index),
      ),
    );
  });
  return lines;
}

/** The field set, keys sorted; `duration_ms` and `reason` for ends only. */
function eventFields(event: SessionEvent, sessionId: string): string {
  const fields: string[] = [];
  if (event.event === 'end') fields.push(`duration_ms=${integerField(event.lastSeen - event.firstSeen)}`);
  fields.push(
    `first_seen_ms=${integerField(event.firstSeen)}`,
    `last_seen_ms=${integerField(event.lastSeen)}`,
  );
  if (event.event === 'end' && event.reason) fields.push(`reason=${quotedField(event.reason)}`);
  fields.push(
    `session_id=${quotedField(sessionId)}`,
    `start_known=${event.startKnown ? 'true' : 'false'}`,
    `user_directory=${quotedField(event.userDirectory)}`,
    `user_id=${quotedField(event.userId)}`,
  );
  return fields.join(',');
}
