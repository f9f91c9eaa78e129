import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';

/*
 * What the simulated QPS and repository share with Qlik's own services: an HTTPS listener that wants a
 * client certificate signed by the site's CA, and the Xrfkey check of every request.
 */

export const XSRF_TEXT = 'XSRF prevention check failed. Possible XSRF discovered.';
export const XRFKEY = /^[0-9A-Za-z]{16}$/;

export interface TlsFiles {
  key: Buffer;
  cert: Buffer;
  ca: Buffer;
}

/** An HTTPS server that refuses clients without a certificate of the CA; `onConnection` counts them. */
export function createQlikHttpsServer(
  tls: TlsFiles,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  onConnection: () => void,
): Server {
  const https = createServer(
    {
      key: tls.key,
      cert: tls.cert,
      ca: tls.ca,
      requestCert: true,
      rejectUnauthorized: true,
      keepAliveTimeout: 30_000,
    },
    handler,
  );
  https.on('secureConnection', onConnection);
  https.on('tlsClientError', () => {
    // Rejected client certificates are expected (tests send them on purpose).
  });
  return https;
}

/**
 * The request's Xrfkey (query parameter, any case of its name) and whether Qlik would accept it: 16
 * letters or digits, the same in the `X-Qlik-Xrfkey` header.
 */
export function checkXrfkey(url: URL, req: IncomingMessage): { key: string | null; valid: boolean } {
  let key: string | null = null;
  for (const [name, value] of url.searchParams) if (name.toLowerCase() === 'xrfkey') key = value;
  const header = req.headers['x-qlik-xrfkey'];
  return { key, valid: !!key && typeof header === 'string' && key === header && XRFKEY.test(key) };
}
