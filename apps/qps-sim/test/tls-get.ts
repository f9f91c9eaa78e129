import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { CertificateSet } from '@qsm/dev-certs';

export interface Answer {
  status: number;
  body: string;
}

/**
 * One GET to the simulator over mutual TLS, on a fresh connection: the server certificate checked
 * against `certs.root`, the client certificate of `clientCerts` (default `certs`; null sends none).
 */
export function getOverTls(
  url: string,
  certs: CertificateSet,
  options: { headers?: Record<string, string>; clientCerts?: CertificateSet | null } = {},
): Promise<Answer> {
  const client = options.clientCerts === undefined ? certs : options.clientCerts;
  return new Promise<Answer>((resolve, reject) => {
    const req = request(
      url,
      {
        headers: options.headers,
        ca: readFileSync(certs.root),
        ...(client ? { cert: readFileSync(client.client), key: readFileSync(client.clientKey) } : {}),
        agent: false,
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
