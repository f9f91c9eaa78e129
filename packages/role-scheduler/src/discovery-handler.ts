import type { Logger } from '@qsm/logging';
import {
  PAYLOAD_VERSION,
  type RepositoryFailure,
  type RepositoryTopology,
  type StoredTopology,
} from '@qsm/model';
import { PermanentJobError } from '@qsm/queues';
import type { DiscoveryStore } from '@qsm/redis';
import type { DiscoveryMetrics } from './discovery-metrics.js';

/** Why a read of the repository failed, as the repository client reports it (a QpsError). */
export interface RepositoryReadError extends Error {
  category: string;
  url: string;
  code?: string | undefined;
  httpStatus?: number | undefined;
}

function isRepositoryReadError(error: unknown): error is RepositoryReadError {
  return (
    error instanceof Error &&
    typeof (error as Partial<RepositoryReadError>).category === 'string' &&
    typeof (error as Partial<RepositoryReadError>).url === 'string'
  );
}

export interface DiscoveryHandlerDeps {
  /** The repository's `host:port`. */
  repository: string;
  readTopology(options: { signal?: AbortSignal }): Promise<RepositoryTopology>;
  /** The request deadline, for the error record. */
  timeoutMs: number;
  store: Pick<DiscoveryStore, 'saveTopology'>;
  /** Makes the job schedulers match the config and the read just stored. */
  reconcile(reason: string): Promise<unknown>;
  /** Queues a `butler_sos_errors` record for InfluxDB (when error tracking writes there). */
  recordFailure(failure: RepositoryFailure): Promise<void>;
  metrics: DiscoveryMetrics;
  logger: Pick<Logger, 'info' | 'warn'>;
  now?: () => number;
}

/** What a successful read found (the job's return value in Bull Board). */
export interface DiscoverySummary {
  nodes: number;
  links: number;
  unlinked: number;
}

/**
 * One read of the Qlik repository (a job of the discovery queue). A good read replaces the one kept in
 * Redis and reconciles the job schedulers with it. A failed read changes nothing: the last good read stays
 * in force, so no target disappears because the repository was down or answered nonsense. It is logged,
 * counted, recorded for InfluxDB, and thrown so that the job fails visibly in Bull Board; the next
 * interval reads again.
 */
export function createDiscoveryHandler(deps: DiscoveryHandlerDeps) {
  const now = deps.now ?? Date.now;
  return async function handleDiscovery(signal?: AbortSignal): Promise<DiscoverySummary> {
    let topology: RepositoryTopology;
    try {
      topology = await deps.readTopology(signal ? { signal } : {});
    } catch (error) {
      if (!isRepositoryReadError(error)) throw error;
      deps.metrics.reads.inc({ outcome: 'failed', category: error.category });
      deps.logger.warn(
        { repository: deps.repository, category: error.category, url: error.url },
        `reading the Qlik repository failed; the virtual proxies found before are still polled: ${error.message}`,
      );
      await deps.recordFailure({
        v: PAYLOAD_VERSION,
        kind: 'repository_error',
        repository: deps.repository,
        failedAt: now(),
        category: error.category,
        message: error.message,
        url: error.url,
        ...(error.code ? { code: error.code } : {}),
        ...(error.httpStatus !== undefined ? { httpStatus: error.httpStatus } : {}),
        ...(error.category === 'timeout' ? { timeoutMs: deps.timeoutMs } : {}),
      });
      throw new PermanentJobError(error.category, error.message);
    }
    const readAt = now();
    const stored: StoredTopology = { v: 1, readAt, repository: deps.repository, topology };
    await deps.store.saveTopology(JSON.stringify(stored));
    deps.metrics.reads.inc({ outcome: 'ok', category: '' });
    deps.metrics.lastSuccess.set(readAt / 1000);
    const summary: DiscoverySummary = {
      nodes: topology.nodes.length,
      links: topology.nodes.reduce((sum, node) => sum + node.virtualProxies.length, 0),
      unlinked: topology.unlinked.length,
    };
    deps.logger.info(
      { repository: deps.repository, ...summary },
      `read the Qlik repository: ${summary.nodes} proxy nodes, ${summary.links} linked virtual proxies`,
    );
    await deps.reconcile('discovery');
    return summary;
  };
}
