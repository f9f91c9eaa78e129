import type { ErrorTrackingSettings, ExcludedUser } from '@qsm/config';
import {
  buildErrorLine,
  buildRepositoryErrorLine,
  buildSessionEventLines,
  buildSessionLineGroups,
  buildSiteFigureLines,
  buildUserEventLines,
  type InfluxVersion,
} from '@qsm/influx';
import type { InfluxSinkJob } from '@qsm/model';

export interface RecordLineSettings {
  version: InfluxVersion;
  /** `userSessions.excludeUser`: the blacklist, applied here and only here. */
  excludeUser: readonly ExcludedUser[];
  errorTracking: ErrorTrackingSettings;
  sessionIdHashKey?: string | undefined;
  /** SESSION_EVENTS_AS_USER_EVENTS: session events also go to Butler SOS's `user_events`. */
  sessionEventsAsUserEvents?: boolean;
}

/**
 * A record's lines in two groups. A poll result's summary and list stay apart from its details: InfluxDB
 * may refuse new session ids (a tag value limit), and must not take the counts with them. A failed poll is
 * one `butler_sos_errors` line, when error tracking writes to InfluxDB, and so is a failed read of the
 * Qlik repository. The tracker's session events are `user_session_events` points (and, when asked for,
 * Butler SOS's `user_events`); its site figures are `user_session_site` points.
 */
export function recordLines(
  record: InfluxSinkJob,
  settings: RecordLineSettings,
): { aggregates: string[]; details: string[] } {
  if (record.kind === 'sessions') {
    return buildSessionLineGroups(record, {
      version: settings.version,
      excludeUser: settings.excludeUser,
      sessionIdHashKey: settings.sessionIdHashKey,
    });
  }
  if (record.kind === 'session_events') {
    // user_events is Butler SOS's measurement, where another writer's points may conflict: in its own
    // group, so that InfluxDB refusing it does not take user_session_events with it.
    const events = buildSessionEventLines(record, settings);
    const userEvents = settings.sessionEventsAsUserEvents ? buildUserEventLines(record, settings) : [];
    return { aggregates: events, details: userEvents };
  }
  if (record.kind === 'site_figures') {
    return { aggregates: buildSiteFigureLines(record, settings.version), details: [] };
  }
  if (!settings.errorTracking.influxdb) return { aggregates: [], details: [] };
  const { measurementName } = settings.errorTracking;
  const line =
    record.kind === 'error'
      ? buildErrorLine(record, measurementName, settings.version)
      : buildRepositoryErrorLine(record, measurementName, settings.version);
  return { aggregates: [line], details: [] };
}
