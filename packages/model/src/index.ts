export { formatIssues, formatPath } from './issues.js';
export * from './payloads.js';
export {
  describeValue,
  type QpsSession,
  type SessionIdentity,
  sessionIdentity,
  sessionProblem,
} from './session.js';
export type { DiscoveredPollTarget, RepositoryProxyNode, RepositoryTopology, RepositoryVirtualProxy } from './repository.js';
