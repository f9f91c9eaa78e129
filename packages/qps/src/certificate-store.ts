import { createPrivateKey } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { CertificateSettings } from '@qsm/config';
import { QpsError } from './qps-error.js';

export interface LoadedCertificates {
  /** Changes whenever a file changed on disk and was read again. */
  version: number;
  secureContext: SecureContext;
}

export interface CertificateStore {
  /** The current certificates; files are checked for changes at most every `checkIntervalMs`. */
  current(): Promise<LoadedCertificates>;
}

/**
 * Reads Qlik's exported `client.pem`, `client_key.pem` and `root.pem` once, decrypts the key with the
 * passphrase once, and reads them again when their size or modification time changes (certificates
 * are renewed in place on Qlik servers).
 */
export function createCertificateStore(cert: CertificateSettings, checkIntervalMs = 2000): CertificateStore {
  const files = [cert.clientCert, cert.clientCertKey, cert.clientCertCA];
  let loaded: { fingerprint: string; value: LoadedCertificates } | undefined;
  let checkedAt = 0;
  let pending: Promise<LoadedCertificates> | undefined;

  const fingerprintFiles = async () => {
    const stats = await Promise.all(
      files.map((file) =>
        stat(file).catch((error: NodeJS.ErrnoException) => {
          throw certificateFileError(file, error);
        }),
      ),
    );
    return stats.map((s) => `${s.size}:${s.mtimeMs}`).join('|');
  };

  const refresh = async (): Promise<LoadedCertificates> => {
    const fingerprint = await fingerprintFiles();
    checkedAt = Date.now();
    if (loaded && loaded.fingerprint === fingerprint) return loaded.value;
    const [certPem, keyPem, caPem] = await Promise.all(
      files.map((file) =>
        readFile(file).catch((error: NodeJS.ErrnoException) => {
          throw certificateFileError(file, error);
        }),
      ),
    );
    const value: LoadedCertificates = {
      version: (loaded?.value.version ?? 0) + 1,
      secureContext: buildContext(cert, certPem!, keyPem!, caPem!),
    };
    loaded = { fingerprint, value };
    return value;
  };

  return {
    current() {
      if (loaded && Date.now() - checkedAt < checkIntervalMs) return Promise.resolve(loaded.value);
      pending ??= refresh().finally(() => {
        pending = undefined;
      });
      return pending;
    },
  };
}

function buildContext(
  cert: CertificateSettings,
  certPem: Buffer,
  keyPem: Buffer,
  caPem: Buffer,
): SecureContext {
  let key: string;
  try {
    key = createPrivateKey(
      cert.clientCertPassphrase === null ? keyPem : { key: keyPem, passphrase: cert.clientCertPassphrase },
    )
      .export({ type: 'pkcs8', format: 'pem' })
      .toString();
  } catch (error) {
    const message =
      cert.clientCertPassphrase === null
        ? `cannot load the client key ${cert.clientCertKey}: it is encrypted or not a PEM key (set cert.clientCertPassphrase?)`
        : `cannot decrypt the client key ${cert.clientCertKey} with cert.clientCertPassphrase (wrong passphrase?)`;
    throw new QpsError('certificate_error', message, {
      url: '',
      code: (error as NodeJS.ErrnoException).code ?? 'ERR_OSSL_BAD_DECRYPT',
      cause: error,
    });
  }
  try {
    return createSecureContext({ cert: certPem, key, ca: caPem });
  } catch (error) {
    throw new QpsError('certificate_error', `invalid client certificate files: ${(error as Error).message}`, {
      url: '',
      code: (error as NodeJS.ErrnoException).code,
      cause: error,
    });
  }
}

function certificateFileError(file: string, error: NodeJS.ErrnoException): QpsError {
  return new QpsError(
    'certificate_error',
    `cannot read certificate file ${file} (${error.code ?? error.message})`,
    {
      url: '',
      code: error.code,
      cause: error,
    },
  );
}
