import type { ExcludedUser } from '@qsm/config';
import type { SessionIdentity } from '@qsm/model';

/**
 * Butler SOS's `excludeUser` match: directory and user id must both be equal, exactly (case-sensitive,
 * as Butler SOS compares them).
 */
export function createBlacklist(
  excluded: readonly ExcludedUser[],
): (session: Pick<SessionIdentity, 'directory' | 'userId'>) => boolean {
  if (excluded.length === 0) return () => false;
  const keys = new Set(excluded.map((u) => `${u.directory}\u0000${u.userId}`));
  return (session) => keys.has(`${session.directory}\u0000${session.userId}`);
}
