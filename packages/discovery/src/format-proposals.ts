import type { RepositoryTopology } from '@qsm/model';
import type { VirtualProxyProposals } from './propose-virtual-proxies.js';
import { sortVirtualProxies } from './resolve-discovered-targets.js';
import { virtualProxyPath } from './virtual-proxy-path.js';

/**
 * `validate-config --discover`'s report: per node, the YAML to paste under the server's `userSessions`
 * and what it changes in the file; then what was left out.
 */
export function formatProposals(
  repository: string,
  topology: RepositoryTopology,
  proposals: VirtualProxyProposals,
): string {
  const lines: string[] = [];
  const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  lines.push(
    `discovery: the Qlik repository at ${repository} has ${count(topology.nodes.length, 'proxy node', 'proxy nodes')}, ` +
      `${count(topology.unlinked.length, 'unlinked virtual proxy', 'unlinked virtual proxies')}`,
  );
  for (const proposal of proposals.nodes) {
    const server = proposal.server
      ? `servers[${proposal.server.index}] (${proposal.server.serverName})`
      : 'in no servers[] entry';
    lines.push('');
    lines.push(`node ${proposal.node} (${proposal.hostName}), QPS ${proposal.qpsHost}: ${server}`);
    lines.push(
      ...proposal.yaml
        .trimEnd()
        .split('\n')
        .map((line) => `  ${line}`),
    );
    lines.push(`  added: ${proposal.added.join(' ') || '-'}`);
    lines.push(`  removed: ${proposal.removed.join(' ') || '-'}`);
  }
  if (topology.unlinked.length > 0 || proposals.notes.length > 0) lines.push('');
  for (const vp of sortVirtualProxies(topology.unlinked))
    lines.push(
      `note: virtual proxy ${virtualProxyPath(vp.prefix)} (${vp.description || vp.id}) is linked to no proxy node`,
    );
  for (const note of proposals.notes) lines.push(`note: ${note.message}`);
  return lines.join('\n');
}
