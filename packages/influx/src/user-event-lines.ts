import type { ExcludedUser } from '@qsm/config';
import type { SessionEventsRecord } from '@qsm/model';
import { createBlacklist } from './blacklist.js';
import { type InfluxVersion, lineTemplate, lineTime, quotedField } from './line-protocol.js';

export interface UserEventPointOptions {
  version: InfluxVersion;
  /** `Butler-SOS.userSessions.excludeUser`: these users' events are not written. */
  excludeUser: readonly ExcludedUser[];
}

/** The tags a user_events point has beyond the server's custom tags, in this order in a line's values. */
const USER_EVENT_TAGS = ['host', 'event_action', 'userFull', 'userDirectory', 'userId', 'origin'];

const ACTIONS = { start: 'Start session', end: 'Stop session' } as const;

/**
 * Session starts and ends as Butler SOS's own `user_events` points (what its UDP user events write from
 * the proxy's audit log): tags `host`, `event_action` (`Start session` / `Stop session`), `userFull`
 * (`DIR\user`), `userDirectory`, `userId`, `origin` (`session-poll`, where Butler SOS has the proxy's
 * origin) and the server's custom tags; fields `userFull` and `userId`. Butler SOS's user-event panels
 * then fill without its log appender. A custom tag of the same name as one of these gives way to it.
 *
 * Timestamps as in user_session_events: the record's time plus the event's place in the record in
 * nanoseconds, so that two sessions of one user starting in one poll stay two points. Events of excluded
 * users are left out.
 */
export function buildUserEventLines(record: SessionEventsRecord, options: UserEventPointOptions): string[] {
  const excluded = createBlacklist(options.excludeUser);
  const line = lineTemplate(options.version, record.serverTags, USER_EVENT_TAGS);
  const lines: string[] = [];
  record.events.forEach((event, index) => {
    if (excluded({ directory: event.userDirectory, userId: event.userId })) return;
    const userFull = `${event.userDirectory}\\${event.userId}`;
    lines.push(
      line(
        'user_events',
        [record.hostName, ACTIONS[event.event], userFull, event.userDirectory, event.userId, 'session-poll'],
        `userFull=${quotedField(userFull)},userId=${quotedField(event.userId)}`,
        lineTime(record.time, index),
      ),
    );
  });
  return lines;
}
