import { registerCommands } from './commands.js';
import type { RedisConnection } from './connection.js';
import { pollLockKey, sessionCountsKey } from './keys.js';

export interface PollLock {
  /** True when this caller now holds the lock of `schedulerId` for `ttlMs`. */
  acquire(schedulerId: string, token: string, ttlMs: number): Promise<boolean>;
  /** Releases the lock; with `sessionCount`, records it for the session gauge in the same round trip. */
  release(schedulerId: string, token: string, sessionCount?: number): Promise<void>;
}

/** One poll of a (server, virtual proxy) at a time, across every poller process. */
export function createPollLock(connection: RedisConnection, prefix: string): PollLock {
  const redis = registerCommands(connection);
  return {
    async acquire(schedulerId, token, ttlMs) {
      return (await redis.set(pollLockKey(prefix, schedulerId), token, 'PX', ttlMs, 'NX')) === 'OK';
    },
    async release(schedulerId, token, sessionCount) {
      const lock = pollLockKey(prefix, schedulerId);
      if (sessionCount === undefined) await redis.qsmReleaseLock(lock, token);
      else
        await redis.qsmReleaseLockAndCount(
          lock,
          sessionCountsKey(prefix),
          token,
          String(sessionCount),
          schedulerId,
        );
    },
  };
}
