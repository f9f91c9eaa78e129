export interface HostPort {
  hostname: string;
  port: number | undefined;
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;
const IPV6 = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/;

/**
 * `<server1.my.domain>:4243`: a value of Butler SOS's production template that is meant to be replaced.
 * Butler SOS accepts any string there (and fails at each poll), so its template loads; so does ours.
 */
export function isTemplatePlaceholder(value: string): boolean {
  return /<[^<>]*>/.test(value);
}

/**
 * Splits `host[:port]` (`sense1.lab:4243`, `10.0.0.5:4243`, `[fe80::1]:4243`).
 * Returns an error sentence instead of throwing, for config validation.
 */
export function parseHostPort(value: string): HostPort | string {
  // A URL where a host belongs: the scheme, path and query are not part of it (Butler SOS would build
  // `https://https://...` from it).
  if (!isTemplatePlaceholder(value)) {
    const url = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(value);
    if (url) return `"${value}" is a URL: write only host:port${url[1] ? ` (${url[1]})` : ''}`;
    const path = /^([^/?#]+)[/?#]/.exec(value);
    if (path) return `"${value}" has a path: write only host:port (${path[1]})`;
  }
  let hostname: string;
  let portText: string | undefined;
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end < 0) return `"${value}" is not a valid host: missing "]"`;
    hostname = value.slice(1, end);
    const rest = value.slice(end + 1);
    if (rest && !rest.startsWith(':')) return `"${value}" is not a valid host`;
    portText = rest ? rest.slice(1) : undefined;
    if (!IPV6.test(hostname)) return `"${value}" is not a valid IPv6 address`;
  } else {
    const parts = value.split(':');
    if (parts.length > 2) return `"${value}" is not a valid host (write IPv6 addresses as [addr]:port)`;
    hostname = parts[0] ?? '';
    portText = parts[1];
    if (!HOSTNAME.test(hostname)) return `"${value}" is not a valid host name or IP address`;
  }
  if (portText === undefined) return { hostname, port: undefined };
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535)
    return `"${value}" has an invalid port "${portText}"`;
  return { hostname, port };
}

/** `sense1:4243` -> `sense1`, as Butler SOS's `host.split(':')[0]` (but IPv6-aware). */
export function hostWithoutPort(value: string): string {
  const parsed = parseHostPort(value);
  return typeof parsed === 'string' ? (value.split(':')[0] ?? value) : parsed.hostname;
}
