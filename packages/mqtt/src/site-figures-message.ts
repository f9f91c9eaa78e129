import type { SiteFiguresRecord } from '@qsm/model';
import { sanitizeTopic } from './session-topic.js';

/** The topic of the site figures: `<baseTopic>usersessionsite`. */
export function buildSiteFiguresTopic(baseTopic: string): string {
  return sanitizeTopic(`${baseTopic}usersessionsite`);
}

/**
 * One interval's figures as one JSON message: the interval (ISO 8601 start, length), the site's figures
 * (`site`, where `usersAtLimit` is their number), each server's distinct users and sessions, and the users
 * with at least `sessionLimitWarn` sessions over the site with where those sessions are (`usersAtLimit`,
 * a list cut to the users and places with the most sessions; each user's `proxyCount` is their number of
 * places in all, so a reader sees when the list of places was cut). Everyone is counted: MQTT has no
 * blacklist.
 */
export function buildSiteFiguresMessage(record: SiteFiguresRecord): string {
  return JSON.stringify({
    intervalStart: new Date(record.intervalStart).toISOString(),
    intervalMs: record.intervalMs,
    sessionLimitWarn: record.sessionLimitWarn,
    site: record.site,
    servers: record.servers.map((server) => ({
      serverName: server.serverName,
      serverDescription: server.serverDescription,
      hostName: server.hostName,
      uniqueUsers: server.uniqueUsers,
      sessionCount: server.sessionCount,
    })),
    usersAtLimit: record.usersAtLimit,
  });
}
