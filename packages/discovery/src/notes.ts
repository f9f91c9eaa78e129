/** Why something the repository lists is not polled, or not as the user might expect. */
export type DiscoveryNoteReason =
  /** A virtual proxy linked to no proxy node: it serves nobody. */
  | 'unlinked'
  /** DISCOVERY_EXCLUDE_NODES names the node. */
  | 'excluded-node'
  /** DISCOVERY_EXCLUDE_PREFIXES names the virtual proxy. */
  | 'excluded-prefix'
  /** A prefix this product cannot poll (`a/b`, a space...). */
  | 'invalid-prefix'
  /** The node's QMC name is the name of a configured server at another QPS host. */
  | 'name-taken'
  /** Sessions are off for the node's configured server, or for the whole file. */
  | 'sessions-off'
  /** Two nodes come to the same (server, virtual proxy): the second is dropped. */
  | 'duplicate'
  /** A configured server matches no proxy node of the repository. */
  | 'not-in-repository';

export interface DiscoveryNote {
  reason: DiscoveryNoteReason;
  /** The node's QMC name, when the note is about a node. */
  node?: string;
  /** `/` or `/<prefix>`, when the note is about a virtual proxy. */
  virtualProxy?: string;
  message: string;
}
