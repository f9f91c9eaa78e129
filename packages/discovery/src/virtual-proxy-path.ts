/** A repository prefix as Butler SOS's config writes it: `""` -> `/`, `finance` -> `/finance`. */
export function virtualProxyPath(prefix: string): string {
  return `/${prefix}`;
}

/**
 * Prefixes compare without regard to case: a hand-written `/Finance` and the QMC's `finance` are one
 * virtual proxy, and polling both would count each of its sessions twice.
 */
export function sameVirtualProxy(a: string, b: string): boolean {
  return virtualProxyKey(a) === virtualProxyKey(b);
}

/** What sameVirtualProxy compares, as a key of sets and maps (checking each of 10,000 targets against all the others is 50 million comparisons). */
export function virtualProxyKey(path: string): string {
  return path.toLowerCase();
}

/** One (server, virtual proxy) as a map key: servers by name, virtual proxies as sameVirtualProxy says. */
export function targetKey(serverName: string, virtualProxy: string): string {
  return JSON.stringify([serverName, virtualProxyKey(virtualProxy)]);
}
