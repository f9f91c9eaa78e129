import { HOSTILE_DIRECTORIES, HOSTILE_USER_IDS, PLAIN_DIRECTORIES, plainUserId } from './identities.js';
import { deriveSeed, type Random, randomGuid, randomInt, seededRandom } from './random.js';
import type { ProxyConfig } from './sim-config.js';

export interface SimSession {
  UserDirectory: string;
  UserId: string;
  Attributes: Array<Record<string, string>>;
  SessionId: string;
  [field: string]: unknown;
}

interface Identity {
  directory: string;
  userId: string;
}

/** The sessions of one virtual proxy, changing by seeded steps so that a seed reproduces a run. */
export interface ProxyPopulation {
  readonly prefix: string;
  sessions(): readonly SimSession[];
  /** The JSON body QPS would send, cached until the sessions change. */
  body(): string;
  /** One churn step: some sessions end, new ones start. */
  step(): void;
  /** Replaces the sessions (tests set exact lists); churn is off for this proxy afterwards. */
  setSessions(sessions: SimSession[]): void;
  /** Appends sessions, as if users had just logged in; churn is off afterwards, as with setSessions. */
  startSessions(sessions: SimSession[]): void;
  /** Ends the session with this SessionId; churn is off afterwards, as with setSessions. */
  endSession(sessionId: string): void;
  /**
   * A proxy restart: every session ends at once and `count` new ones (default: as many as before) start
   * with new SessionIds and users drawn from this proxy's users. Churn goes on as it was.
   */
  restart(count?: number): readonly SimSession[];
}

/** A session change that contradicts the current sessions; `status` is the control API's answer. */
export class SessionChangeError extends Error {
  override readonly name = 'SessionChangeError';
  constructor(
    readonly status: 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

export function createProxyPopulation(
  seed: number,
  serverName: string,
  config: ProxyConfig,
): ProxyPopulation {
  const random = seededRandom(deriveSeed(seed, serverName, config.prefix));
  const identities = buildIdentities(random, config);
  let churnRate = config.churnRate;
  let sessions: SimSession[] = Array.from({ length: config.sessions }, () => newSession(random, identities));
  let cachedBody: string | undefined;

  return {
    prefix: config.prefix,
    sessions: () => sessions,
    body() {
      cachedBody ??= JSON.stringify(sessions);
      return cachedBody;
    },
    step() {
      if (churnRate === 0 || config.sessions === 0) return;
      const kept = sessions.filter(() => random() >= churnRate);
      // The count wanders around its target by up to 20% so that dashboards show movement.
      const target = Math.max(0, Math.round(config.sessions * (0.9 + random() * 0.2)));
      while (kept.length < target) kept.push(newSession(random, identities));
      sessions = kept.slice(0, Math.max(target, 0));
      cachedBody = undefined;
    },
    setSessions(next) {
      sessions = next;
      churnRate = 0;
      cachedBody = undefined;
    },
    startSessions(started) {
      const taken = new Set(sessions.map((s) => s.SessionId));
      // A look-alike session may have no SessionId at all: nothing to collide with.
      for (const session of started) {
        if (session.SessionId === undefined) continue;
        if (taken.has(session.SessionId))
          throw new SessionChangeError(
            409,
            `proxy ${config.prefix} on server ${serverName} has a session ${String(session.SessionId)} already`,
          );
        taken.add(session.SessionId);
      }
      sessions = [...sessions, ...started];
      churnRate = 0;
      cachedBody = undefined;
    },
    endSession(sessionId) {
      const kept = sessions.filter((s) => s.SessionId !== sessionId);
      if (kept.length === sessions.length)
        throw new SessionChangeError(
          404,
          `proxy ${config.prefix} on server ${serverName} has no session ${sessionId}`,
        );
      sessions = kept;
      churnRate = 0;
      cachedBody = undefined;
    },
    restart(count = sessions.length) {
      sessions = Array.from({ length: count }, () => newSession(random, identities));
      cachedBody = undefined;
      return sessions;
    },
  };
}

function buildIdentities(random: Random, config: ProxyConfig): Identity[] {
  const directories = config.directories ?? (config.hostile ? HOSTILE_DIRECTORIES : PLAIN_DIRECTORIES);
  const identities: Identity[] = [];
  for (let i = 0; i < config.users; i++) {
    const directory = directories[i % directories.length] ?? 'LAB';
    const userId =
      config.hostile && i < HOSTILE_USER_IDS.length * 2 && i % 2 === 0
        ? (HOSTILE_USER_IDS[(i / 2) % HOSTILE_USER_IDS.length] ?? plainUserId(i))
        : plainUserId(i);
    identities.push({ directory, userId });
  }
  // Shuffle deterministically so that directories and hostile ids are spread over sessions.
  for (let i = identities.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    [identities[i], identities[j]] = [identities[j]!, identities[i]!];
  }
  return identities;
}

function newSession(random: Random, identities: Identity[]): SimSession {
  const who = identities[randomInt(random, identities.length)] ?? { directory: 'LAB', userId: 'user0001' };
  const attributes: Array<Record<string, string>> =
    random() < 0.5
      ? []
      : [{ Group: random() < 0.5 ? 'Sales' : 'Finance' }, { Email: `${who.userId}@example.test` }];
  return {
    UserDirectory: who.directory,
    UserId: who.userId,
    Attributes: attributes,
    SessionId: randomGuid(random),
  };
}
