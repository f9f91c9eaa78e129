import { hostWithoutPort } from '@qsm/config';

/**
 * Butler SOS's topic: `<baseTopic><QPS host without port>/usersession<virtual proxy>`, e.g.
 * `butler-sos/sense1.lab/usersession/` for the default virtual proxy and `.../usersession/hdr`.
 * MQTT forbids `+` and `#` (wildcards) and NUL in a topic name; they are percent-encoded
 * (`%2B`, `%23`, `%00`) so that such a host or prefix still gets a valid topic of its own.
 */
export function buildSessionTopic(baseTopic: string, qpsHost: string, virtualProxy: string): string {
  return sanitizeTopic(`${baseTopic}${hostWithoutPort(qpsHost)}/usersession${virtualProxy}`);
}

export function sanitizeTopic(topic: string): string {
  return topic.replace(
    /[+#\u0000]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

/** The session array as Butler SOS publishes it: the QPS response, pretty-printed, every session included. */
export function buildSessionPayload(sessions: readonly unknown[]): string {
  return JSON.stringify(sessions, null, 2);
}
