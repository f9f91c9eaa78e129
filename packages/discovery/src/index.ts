export { formatProposals } from './format-proposals.js';
export { listAllPollTargets, type MonitoredPollTarget } from './list-all-poll-targets.js';
export type { DiscoveryNote, DiscoveryNoteReason } from './notes.js';
export {
  type NodeProposal,
  proposeVirtualProxies,
  type VirtualProxyProposals,
} from './propose-virtual-proxies.js';
export { type ResolvedDiscovery, resolveDiscoveredTargets } from './resolve-discovered-targets.js';
