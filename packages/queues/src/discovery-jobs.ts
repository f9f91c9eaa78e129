import { z } from 'zod';

export const DISCOVERY_JOB_NAME = 'discover';

/** The job scheduler that reads the repository every DISCOVERY_INTERVAL_MS. */
export const DISCOVERY_SCHEDULER_ID = 'discovery';

/** A read of the Qlik repository: `scheduled` every interval, `start` when a scheduler starts. */
export const discoveryJobSchema = z.object({
  v: z.literal(1),
  reason: z.enum(['scheduled', 'start']),
});
export type DiscoveryJobData = z.output<typeof discoveryJobSchema>;

/**
 * The id of the read a starting scheduler asks for: replicas that start within the same 10 s share one,
 * so that a rolling restart of several does not read the repository once per replica.
 */
export function startDiscoveryJobId(at: number): string {
  return `discovery|start|${Math.floor(at / 10_000)}`;
}
