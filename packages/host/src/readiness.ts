import type { Readiness } from './ops-server.js';
import type { RunningRole } from './role.js';

/**
 * /readyz: Redis and every check of every started role; ready when all are 'up'. `roles` is read at
 * each request, as roles start after the endpoint listens.
 */
export function appReadiness(
  connection: { readonly status: string },
  roles: () => readonly RunningRole[],
): () => Promise<Readiness> {
  return async () => {
    const checks: Record<string, string> = {
      redis: connection.status === 'ready' ? 'up' : `down: ${connection.status}`,
    };
    for (const role of roles()) Object.assign(checks, await role.checks());
    return { ready: Object.values(checks).every((v) => v === 'up'), checks };
  };
}
