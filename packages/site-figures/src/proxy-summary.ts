import { parseStoredJson, type ServerIdentity, serverIdentitySchema, type TrackedSession } from '@qsm/model';
import { z } from 'zod';

/** How many sessions one user (spelled exactly as QPS listed them) has on one proxy. */
export interface UserSessionCount {
  userDirectory: string;
  userId: string;
  sessions: number;
}

/** What one successful poll of a (server, virtual proxy) contributes to its interval's site figures. */
export interface ProxySummary {
  identity: ServerIdentity;
  users: UserSessionCount[];
}

/**
 * The per-user session counts of one poll. Users are told apart exactly as spelled here (the blacklist
 * matches exact spellings, as Butler SOS does); the site-wide figures compare them case-insensitively.
 */
export function summarizeSessions(
  identity: ServerIdentity,
  sessions: readonly TrackedSession[],
): ProxySummary {
  const counts = new Map<string, UserSessionCount>();
  for (const session of sessions) {
    const key = `${session.userDirectory}\u0000${session.userId}`;
    const entry = counts.get(key);
    if (entry) entry.sessions += 1;
    else counts.set(key, { userDirectory: session.userDirectory, userId: session.userId, sessions: 1 });
  }
  const { serverName, serverDescription, hostName, serverTags, qpsHost, virtualProxy } = identity;
  return {
    identity: { serverName, serverDescription, hostName, serverTags, qpsHost, virtualProxy },
    users: [...counts.values()],
  };
}

/** The stored form: the identity once, then [directory, user id, sessions] per user. */
const storedSummarySchema = z.object({
  i: serverIdentitySchema,
  u: z.array(z.tuple([z.string(), z.string(), z.number().int().positive()])),
});

/** A summary as kept in Redis, one per proxy and interval. */
export function encodeProxySummary(summary: ProxySummary): string {
  return JSON.stringify({
    i: summary.identity,
    u: summary.users.map((u) => [u.userDirectory, u.userId, u.sessions]),
  });
}

export type DecodedProxySummary = { ok: true; summary: ProxySummary } | { ok: false; problem: string };

/** A stored summary read back, or what is wrong with it (another release's, or edited in Redis). */
export function decodeProxySummary(text: string): DecodedProxySummary {
  const read = parseStoredJson(storedSummarySchema, text);
  if (!read.ok) return read;
  return {
    ok: true,
    summary: {
      identity: read.value.i,
      users: read.value.u.map(([userDirectory, userId, sessions]) => ({ userDirectory, userId, sessions })),
    },
  };
}
