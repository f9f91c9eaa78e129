/** A repository prefix as Butler SOS's config writes it: `""` -> `/`, `finance` -> `/finance`. */
export function virtualProxyPath(prefix: string): string {
  return `/${prefix}`;
}

/**
 * Prefixes compare without regard to case: a hand-written `/Finance` and the QMC's `finance` are one
 * virtual proxy, and polling both would count each of its sessions twice.
 */
export function sameVirtualProxy(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
