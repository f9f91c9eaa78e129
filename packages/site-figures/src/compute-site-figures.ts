import type { ExcludedUser } from '@qsm/config';
import { PAYLOAD_VERSION, type SiteFiguresRecord } from '@qsm/model';
import type { ProxySummary, UserSessionCount } from './proxy-summary.js';

export interface SiteFiguresInput {
  /** The interval's start (a multiple of intervalMs): the time of the figures. */
  intervalStart: number;
  intervalMs: number;
  /** SESSION_LIMIT_WARN: a user with at least this many sessions over the site is at the limit. */
  sessionLimitWarn: number;
  /** `userSessions.excludeUser`: left out of the InfluxDB copy only. */
  excludeUser: readonly ExcludedUser[];
  /** The target key of every (server, virtual proxy) polled now: the configured and the discovered ones. */
  expected: readonly string[];
  /** This interval's summaries, by target key: the proxies that reported. */
  current: ReadonlyMap<string, ProxySummary>;
  /** The previous interval's summaries, by target key: what a proxy that did not report contributes. */
  previous: ReadonlyMap<string, ProxySummary>;
}

/** The same interval's figures twice: without the blacklisted users for InfluxDB, with everyone for MQTT. */
export interface SiteFigures {
  influx: SiteFiguresRecord;
  mqtt: SiteFiguresRecord;
}

/**
 * The figures of one polling interval over the whole site and per server.
 *
 * - A proxy polled (expected) that has no summary of this interval failed: it is counted in
 *   proxiesFailed and contributes its previous interval's summary, when there is one (never an older one).
 * - A proxy that reported counts as polled, also when it is no longer expected (it left the config
 *   during the interval): its sessions were there.
 * - Users are `UserDirectory\UserId` compared case-insensitively (Qlik Sense treats both so: `LAB\Anna`
 *   and `lab\anna` are one person with one session limit); a user is shown as first spelled in the
 *   order of the target keys. The blacklist matches exact spellings, as on every other measurement.
 * - A server is listed when at least one of its proxies contributed (a server with no data at all is
 *   left out rather than shown with zero users).
 * - The users at the limit are listed with the most sessions first (ties by person), at most
 *   MAX_USERS_AT_LIMIT_LISTED of them, each with their places with the most sessions first (ties by server
 *   and virtual proxy), at most MAX_PLACES_LISTED_PER_USER, and the number of their places in all.
 */
export function computeSiteFigures(input: SiteFiguresInput): SiteFigures {
  const { contributing, polled, failed } = contributions(input);
  const excluded = blacklist(input.excludeUser);
  return {
    influx: figures(input, contributing, polled, failed, excluded),
    mqtt: figures(input, contributing, polled, failed, () => false),
  };
}

function contributions(input: SiteFiguresInput) {
  const keys = [...new Set([...input.expected, ...input.current.keys()])].sort();
  const contributing: ProxySummary[] = [];
  let polled = 0;
  let failed = 0;
  for (const key of keys) {
    const current = input.current.get(key);
    if (current) {
      polled += 1;
      contributing.push(current);
      continue;
    }
    failed += 1;
    const previous = input.previous.get(key);
    if (previous) contributing.push(previous);
  }
  return { contributing, polled, failed };
}

/** Butler SOS's `excludeUser` match: directory and user id both equal, exactly. */
function blacklist(excluded: readonly ExcludedUser[]): (user: UserSessionCount) => boolean {
  const keys = new Set(excluded.map((u) => `${u.directory}\u0000${u.userId}`));
  return (user) => keys.has(`${user.userDirectory}\u0000${user.userId}`);
}

/** One person over the site, whatever the case of their directory and id on each proxy. */
function personKey(user: UserSessionCount): string {
  return `${user.userDirectory.toLowerCase()}\u0000${user.userId.toLowerCase()}`;
}

/**
 * How many users at the limit the record lists, and how many places of each. The list is what MQTT
 * publishes as one message and what goes through Redis twice (the InfluxDB and MQTT sink jobs) every
 * interval: uncut, 16 service accounts on each of 10,000 proxies would make it 160,000 places, some 12 MB.
 * `site.usersAtLimit` and each user's `proxyCount` stay the full numbers.
 */
export const MAX_USERS_AT_LIMIT_LISTED = 100;
export const MAX_PLACES_LISTED_PER_USER = 20;

type UserAtLimit = SiteFiguresRecord['usersAtLimit'][number];
type Place = UserAtLimit['proxies'][number];
type ServerFigures = SiteFiguresRecord['servers'][number];

/** One person over the site while counting: their places indexed by (server, virtual proxy). */
interface Person {
  key: string;
  userDirectory: string;
  userId: string;
  sessions: number;
  places: Map<string, Place>;
}

function figures(
  input: SiteFiguresInput,
  contributing: readonly ProxySummary[],
  polled: number,
  failed: number,
  excluded: (user: UserSessionCount) => boolean,
): SiteFiguresRecord {
  const people = new Map<string, Person>();
  const servers = new Map<string, { figures: ServerFigures; people: Set<string> }>();
  let sessionCount = 0;

  for (const { identity, users } of contributing) {
    const placeKey = `${identity.serverName}\u0000${identity.virtualProxy}`;
    let server = servers.get(identity.serverName);
    if (!server) {
      server = {
        figures: {
          serverName: identity.serverName,
          serverDescription: identity.serverDescription,
          hostName: identity.hostName,
          serverTags: identity.serverTags,
          uniqueUsers: 0,
          sessionCount: 0,
        },
        people: new Set(),
      };
      servers.set(identity.serverName, server);
    }
    for (const user of users) {
      if (excluded(user)) continue;
      const key = personKey(user);
      sessionCount += user.sessions;
      server.figures.sessionCount += user.sessions;
      server.people.add(key);
      let person = people.get(key);
      if (!person) {
        person = {
          key,
          userDirectory: user.userDirectory,
          userId: user.userId,
          sessions: 0,
          places: new Map(),
        };
        people.set(key, person);
      }
      person.sessions += user.sessions;
      // Two spellings of one person on one proxy are one place.
      const place = person.places.get(placeKey);
      if (place) place.sessions += user.sessions;
      else
        person.places.set(placeKey, {
          serverName: identity.serverName,
          qpsHost: identity.qpsHost,
          virtualProxy: identity.virtualProxy,
          sessions: user.sessions,
        });
    }
  }

  const atLimit = [...people.values()]
    .filter((p) => p.sessions >= input.sessionLimitWarn)
    .sort((a, b) => b.sessions - a.sessions || compare(a.key, b.key));

  return {
    v: PAYLOAD_VERSION,
    kind: 'site_figures',
    intervalStart: input.intervalStart,
    intervalMs: input.intervalMs,
    sessionLimitWarn: input.sessionLimitWarn,
    site: {
      uniqueUsers: people.size,
      sessionCount,
      // A loop, not Math.max(...): a site's users can outnumber the arguments a call may take.
      maxSessionsPerUser: [...people.values()].reduce((max, p) => Math.max(max, p.sessions), 0),
      usersAtLimit: atLimit.length,
      proxiesPolled: polled,
      proxiesFailed: failed,
    },
    servers: [...servers.values()]
      .map(({ figures, people }) => ({ ...figures, uniqueUsers: people.size }))
      .sort((a, b) => compare(a.serverName, b.serverName)),
    usersAtLimit: atLimit.slice(0, MAX_USERS_AT_LIMIT_LISTED).map(listed),
  };
}

/** A user at the limit as the record lists them: their places with the most sessions first, cut. */
function listed(person: Person): UserAtLimit {
  return {
    userDirectory: person.userDirectory,
    userId: person.userId,
    sessions: person.sessions,
    proxyCount: person.places.size,
    proxies: [...person.places.values()]
      .sort((a, b) => b.sessions - a.sessions || byPlace(a, b))
      .slice(0, MAX_PLACES_LISTED_PER_USER),
  };
}

function byPlace(a: Place, b: Place): number {
  return compare(a.serverName, b.serverName) || compare(a.virtualProxy, b.virtualProxy);
}

/** Code-unit order: the same on every machine, whatever its locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
