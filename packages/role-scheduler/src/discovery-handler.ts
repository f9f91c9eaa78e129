import type { Logger } from '@qsm/logging';
import {
  PAYLOAD_VERSION,
  type RepositoryFailure,
  type RepositoryTopology,
  type StoredTopology,
} from '@qsm/model';
import { isRepositoryError, RepositoryError } from '@qsm/qps';
import { PermanentJobError } from '@qsm/queues';
import type { DiscoveryStore } from '@qsm/redis';
import type { DiscoveryMetrics } from './discovery-metrics.js';

export interface DiscoveryHandlerDeps {
  /** The repository's `host:port`. */
  repository: string;
  readTopology(options: { signal?: AbortSignal }): Promise<RepositoryTopology>;
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
      topology = withProxyNodes(await deps.readTopology(signal ? { signal } : {}), deps.repository);
    } catch (error) {
      if (!isRepositoryError(error)) throw error;
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
        ...(error.timeoutMs !== undefined ? { timeoutMs: error.timeoutMs } : {}),
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

/**
 * Every Qlik Sense site has a proxy node (the central one at least). A list without any is what a
 * repository user without read access to ProxyService gets (security rules filter lists, they do not
 * refuse them): taken as it is, it would stop every discovered target, so it is a failed read.
 */
function withProxyNodes(topology: RepositoryTopology, repository: string): RepositoryTopology {
  if (topology.nodes.length > 0) return topology;
  throw new RepositoryError(
    'invalid_response',
    'the repository lists no proxy node: does the repository user (QRS_USER) have read access to ProxyService?',
    { url: `https://${repository}/qrs/proxyservice/full` },
  );
}
