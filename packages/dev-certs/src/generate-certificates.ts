import { createPrivateKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generate } from 'selfsigned';

export interface CertificateSetOptions {
  /** Folder to write into (created when missing). */
  dir: string;
  /** Encrypts `client_key.pem` the way a password-protected QMC export is (PKCS#1, legacy PEM encryption). */
  passphrase?: string;
  /** Names the simulator's server certificate is valid for, besides localhost and 127.0.0.1. */
  serverNames?: string[];
  /** IP addresses the server certificate is valid for (default: 127.0.0.1 to 127.0.0.64 and ::1). */
  serverIps?: string[];
  /** Common name of the CA, so that two sets are told apart in TLS errors. */
  caName?: string;
  /** Validity in days (default 825). */
  days?: number;
}

/** The files of one set, with Qlik's names for the three that QMC exports. */
export interface CertificateSet {
  dir: string;
  /** QMC export: the CA (`root.pem`). */
  root: string;
  /** QMC export: client certificate (`client.pem`). */
  client: string;
  /** QMC export: client key (`client_key.pem`). */
  clientKey: string;
  /** Not exported by Qlik: the CA key, kept to sign more certificates. */
  rootKey: string;
  /** For the QPS simulator: its server certificate and key (`server.pem`, `server_key.pem`). */
  server: string;
  serverKey: string;
  passphrase: string | null;
}

/** Loopback addresses, so that simulated Qlik servers can each have their own host (127.0.0.x). */
const DEFAULT_SERVER_IPS = [...Array.from({ length: 64 }, (_, i) => `127.0.0.${i + 1}`), '::1'];

export function certificateSetPaths(dir: string, passphrase: string | null = null): CertificateSet {
  const at = (name: string) => path.join(dir, name);
  return {
    dir,
    root: at('root.pem'),
    rootKey: at('root_key.pem'),
    client: at('client.pem'),
    clientKey: at('client_key.pem'),
    server: at('server.pem'),
    serverKey: at('server_key.pem'),
    passphrase,
  };
}

/** Whether `dir` already holds a complete set. */
export function hasCertificateSet(dir: string): boolean {
  const set = certificateSetPaths(dir);
  return [set.root, set.client, set.clientKey, set.server, set.serverKey].every((f) => existsSync(f));
}

/**
 * Generates a CA, a server certificate for the QPS simulator and a client certificate signed by that CA,
 * in the shape Qlik Sense's QMC exports them. For development and tests only.
 */
export async function generateCertificateSet(options: CertificateSetOptions): Promise<CertificateSet> {
  const days = options.days ?? 825;
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + days * 86_400_000);
  const set = certificateSetPaths(options.dir, options.passphrase ?? null);
  await mkdir(options.dir, { recursive: true });

  const ca = await generate([{ name: 'commonName', value: options.caName ?? 'QSM Development CA' }], {
    algorithm: 'sha256',
    keySize: 2048,
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const signer = { key: ca.private, cert: ca.cert };
  const serverNames = ['localhost', ...(options.serverNames ?? [])];
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    algorithm: 'sha256',
    keySize: 2048,
    notBeforeDate,
    notAfterDate,
    ca: signer,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...serverNames.map((value) => ({ type: 2 as const, value })),
          ...(options.serverIps ?? DEFAULT_SERVER_IPS).map((ip) => ({ type: 7 as const, ip })),
        ],
      },
    ],
  });
  const client = await generate([{ name: 'commonName', value: 'QlikClient' }], {
    algorithm: 'sha256',
    keySize: 2048,
    notBeforeDate,
    notAfterDate,
    ca: signer,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', clientAuth: true },
    ],
  });

  // QMC exports RSA keys as PKCS#1 ("BEGIN RSA PRIVATE KEY"), encrypted in the legacy PEM way with a password.
  const clientKey = createPrivateKey(client.private).export(
    options.passphrase
      ? { type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: options.passphrase }
      : { type: 'pkcs1', format: 'pem' },
  );
  const writes: Array<[string, string]> = [
    [set.root, ca.cert],
    [set.rootKey, ca.private],
    [set.server, server.cert],
    [set.serverKey, server.private],
    [set.client, client.cert],
    [set.clientKey, String(clientKey)],
  ];
  for (const [file, pem] of writes) {
    await writeFile(file, pem);
    await chmod(file, file.endsWith('_key.pem') ? 0o600 : 0o644);
  }
  return set;
}
