import { hostWithoutPort } from '@qsm/config';
import type { SessionEventsRecord } from '@qsm/model';
import { sanitizeTopic } from './session-topic.js';

/**
 * The topic of one proxy's session events, beside Butler SOS's session list:
 * `<baseTopic><QPS host without port>/usersessionevent<virtual proxy>`, e.g.
 * `butler-sos/sense1.lab/usersessionevent/hdr`.
 */
export function buildSessionEventTopic(baseTopic: string, qpsHost: string, virtualProxy: string): string {
  return sanitizeTopic(`${baseTopic}${hostWithoutPort(qpsHost)}/usersessionevent${virtualProxy}`);
}

/**
 * One JSON message per event of a record, in the record's order. Times are ISO 8601 text (UTC, with
 * milliseconds), as a subscriber reads them without knowing the product; `durationMs` (ends only) is a
 * number of milliseconds, `last_seen - first_seen`, a lower bound of the session's length. `reason` and
 * `durationMs` are left out of a start. The session id is the one QPS served (MQTT has no blacklist and
 * no hashing, as the session list on the neighbouring topic).
 */
export function buildSessionEventMessages(record: SessionEventsRecord): string[] {
  return record.events.map((event) =>
    JSON.stringify({
      event: event.event,
      serverName: record.serverName,
      qpsHost: record.qpsHost,
      virtualProxy: record.virtualProxy,
      userDirectory: event.userDirectory,
      userId: event.userId,
      sessionId: event.sessionId,
      firstSeen: new Date(event.firstSeen).toISOString(),
      lastSeen: new Date(event.lastSeen).toISOString(),
      time: new Date(record.time).toISOString(),
      ...(event.event === 'end' ? { durationMs: event.lastSeen - event.firstSeen } : {}),
      startKnown: event.startKnown,
      ...(event.event === 'end' && event.reason ? { reason: event.reason } : {}),
      pollIntervalMs: record.pollIntervalMs,
    }),
  );
}
