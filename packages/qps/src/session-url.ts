/**
 * `https://<host:port>/qps/session` for the default virtual proxy `/`, `/qps/<prefix>/session` otherwise.
 * The prefix has been validated as `/name`; it is percent-encoded so unusual characters stay in one path segment.
 */
export function buildSessionUrl(qpsHost: string, virtualProxy: string, xrfkey: string): string {
  const prefix = virtualProxy === '/' ? '' : `/${encodeURIComponent(virtualProxy.slice(1))}`;
  return `https://${qpsHost}/qps${prefix}/session?Xrfkey=${xrfkey}`;
}

/** The URL as it may be logged or stored: without the query string. */
export function withoutQuery(url: string): string {
  const i = url.indexOf('?');
  return i < 0 ? url : url.slice(0, i);
}
