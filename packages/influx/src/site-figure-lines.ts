import type { SiteFiguresRecord } from '@qsm/model';
import { type InfluxVersion, integerField, lineTemplate, lineTime } from './line-protocol.js';
import { serverTags } from './session-lines.js';

/**
 * One interval's site figures as `user_session_site` points at the interval's start: one with tag
 * `scope=site` and every figure, and one per server with `scope=server`, the server's tags and its
 * distinct users and sessions. The tracker computed this copy without the excludeUser users already, so
 * the record is written as it is.
 */
export function buildSiteFigureLines(record: SiteFiguresRecord, version: InfluxVersion): string[] {
  const time = lineTime(record.intervalStart);
  const { site } = record;
  const siteLine = lineTemplate(version, { scope: 'site' })(
    'user_session_site',
    [],
    [
      `max_sessions_per_user=${integerField(site.maxSessionsPerUser)}`,
      `proxies_failed=${integerField(site.proxiesFailed)}`,
      `proxies_polled=${integerField(site.proxiesPolled)}`,
      `session_count=${integerField(site.sessionCount)}`,
      `unique_users=${integerField(site.uniqueUsers)}`,
      `users_at_limit=${integerField(site.usersAtLimit)}`,
    ].join(','),
    time,
  );
  const serverLines = record.servers.map((server) =>
    lineTemplate(version, { ...serverTags(server), scope: 'server' })(
      'user_session_site',
      [],
      `session_count=${integerField(server.sessionCount)},unique_users=${integerField(server.uniqueUsers)}`,
      time,
    ),
  );
  return [siteLine, ...serverLines];
}
