export { formatIssues, formatPath } from './issues.js';
export * from './payloads.js';
export {
  type DiscoveredPollTarget,
  discoveredPollTargetsSchema,
  type RepositoryProxyNode,
  type RepositoryTopology,
  type RepositoryVirtualProxy,
  readDiscoveredPollTargets,
  type StoredTopology,
  storedTopologySchema,
} from './repository.js';
export {
  describeValue,
  type QpsSession,
  type SessionIdentity,
  sessionIdentity,
  sessionProblem,
} from './session.js';
export * from './sink-jobs.js';
export { stableHash } from './stable-hash.js';
export { parseStoredJson, type StoredJson } from './stored-json.js';
export * from './tracking.js';
