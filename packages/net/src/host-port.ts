/**
 * `host:port` for a URL or a message: an IPv6 address goes in brackets (`[fe80::1]:8086`), so that its
 * colons are not read as the port's. A host already in brackets stays as it is.
 */
export function formatHostPort(host: string, port: number | string): string {
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}
