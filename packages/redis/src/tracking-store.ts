import { registerCommands } from './commands.js';
import type { RedisConnection } from './connection.js';
import { trackMetaKey, trackOutboxKey, trackRetiredKey, trackStateKey } from './keys.js';

/*
 * The tracker's state in Redis, per (server, virtual proxy): the open sessions, the last applied poll time
 * and the proxy's identity, and the outbox of events derived by the last change, all written by one Lua
 * script (tracking-script.ts) so that any tracker replica can take any proxy's next result.
 */

/** How long an undelivered outbox is kept: its track job is retried until done, this only bounds a leak. */
export const TRACK_OUTBOX_TTL_MS = 7 * 24 * 3600_000;
/**
 * A proxy's state expires this long after its last successful poll (a proxy that left the config while
 * no retirement could be recorded, say with tracking off at the scheduler). A proxy failing for longer
 * starts over with startKnown=false, as after a lost state.
 */
export const TRACK_STATE_TTL_MS = 7 * 24 * 3600_000;
/** How long a retired proxy's results polled before its retirement are kept out. */
export const TRACK_RETIRED_TTL_MS = 24 * 3600_000;

export interface TrackedIdentity {
  sessionId: string;
  userDirectory: string;
  userId: string;
}

export interface TrackApplyInput {
  /** The (server, virtual proxy), as an id that holds no ':' of its own significance. */
  targetId: string;
  /** The id of this change's outbox: the same for every attempt of the same job. */
  outboxId: string;
  polledAt: number;
  /** The proxy's identity as JSON, copied into the outbox and kept for its retirement's events. */
  identityJson: string;
  intervalMs: number;
  sessions: readonly TrackedIdentity[];
}

export interface TrackRetireInput {
  targetId: string;
  outboxId: string;
  retiredAt: number;
}

/**
 * - `applied`: the state changed; `outbox` holds the derived events (JSON), unless nothing changed.
 * - `retry`: this change was applied before (the same poll again); `outbox` is still there if its
 *   delivery was not finished.
 * - `older`: a result not newer than the last applied one (or polled before the proxy was retired).
 */
export type TrackOutcome =
  | { outcome: 'applied' | 'retry'; outbox: string | undefined }
  | { outcome: 'older' };

export interface TrackingStore {
  apply(input: TrackApplyInput): Promise<TrackOutcome>;
  /** Ends the open sessions of a proxy that is no longer polled, deletes its state, keeps a tombstone. */
  retire(input: TrackRetireInput): Promise<TrackOutcome>;
  /** Deletes an outbox whose events are delivered. */
  clearOutbox(outboxId: string): Promise<void>;
}

export function createTrackingStore(connection: RedisConnection, prefix: string): TrackingStore {
  const redis = registerCommands(connection);
  const keys = (targetId: string, outboxId: string) =>
    [
      trackStateKey(prefix, targetId),
      trackMetaKey(prefix, targetId),
      trackOutboxKey(prefix, outboxId),
      trackRetiredKey(prefix, targetId),
    ] as const;
  const outcome = (reply: [string, string?]): TrackOutcome => {
    const [kind, outbox] = reply;
    if (kind === 'older') return { outcome: 'older' };
    if (kind === 'applied' || kind === 'retry') return { outcome: kind, outbox: outbox ?? undefined };
    throw new Error(`tracking script answered ${JSON.stringify(reply)}`);
  };
  return {
    async apply(input) {
      const args = [
        'apply',
        String(input.polledAt),
        String(TRACK_OUTBOX_TTL_MS),
        String(TRACK_STATE_TTL_MS),
        input.identityJson,
        String(input.intervalMs),
      ];
      for (const s of input.sessions) args.push(s.sessionId, s.userDirectory, s.userId);
      return outcome(await redis.qsmTrack(...keys(input.targetId, input.outboxId), ...args));
    },
    async retire(input) {
      const args = [
        'retire',
        String(input.retiredAt),
        String(TRACK_OUTBOX_TTL_MS),
        String(TRACK_RETIRED_TTL_MS),
      ];
      return outcome(await redis.qsmTrack(...keys(input.targetId, input.outboxId), ...args));
    },
    async clearOutbox(outboxId) {
      await connection.del(trackOutboxKey(prefix, outboxId));
    },
  };
}
