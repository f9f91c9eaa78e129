import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConfigProblem } from './config-error.js';
import { isTemplatePlaceholder } from './host-port.js';
import type { CertificateSettings } from './settings.js';

const AT = 'Butler-SOS.cert';

/**
 * Reads Qlik's exported certificate files and tries the key passphrase, so that a wrong path or
 * passphrase is reported at start, with its config path, instead of as a TLS failure on every poll.
 */
export function checkCertificateFiles(cert: CertificateSettings): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const read = (key: keyof CertificateSettings, file: string): Buffer | undefined => {
    try {
      return readFileSync(file);
    } catch (error) {
      const placeholder = isTemplatePlaceholder(file)
        ? ": a placeholder of Butler SOS's template, fill in the path of the certificate file exported from the QMC"
        : '';
      problems.push({
        path: `${AT}.${key}`,
        message: `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})${placeholder}`,
      });
      return undefined;
    }
  };

  for (const key of ['clientCert', 'clientCertCA'] as const) {
    const pem = read(key, cert[key]);
    if (!pem) continue;
    try {
      new X509Certificate(pem);
    } catch {
      problems.push({ path: `${AT}.${key}`, message: `${cert[key]} is not a PEM certificate` });
    }
  }

  const keyPem = read('clientCertKey', cert.clientCertKey);
  if (keyPem) {
    try {
      createPrivateKey(
        cert.clientCertPassphrase === null ? keyPem : { key: keyPem, passphrase: cert.clientCertPassphrase },
      );
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      const encrypted = /ENCRYPTED/.test(keyPem.toString('latin1'));
      if (encrypted && cert.clientCertPassphrase === null)
        problems.push({
          path: `${AT}.clientCertPassphrase`,
          message: `required: ${cert.clientCertKey} is encrypted`,
        });
      else if (encrypted)
        problems.push({
          path: `${AT}.clientCertPassphrase`,
          message: `does not decrypt ${cert.clientCertKey} (wrong passphrase)`,
        });
      else
        problems.push({
          path: `${AT}.clientCertKey`,
          message: `${cert.clientCertKey} is not a PEM private key (${code || 'unreadable'})`,
        });
    }
  }
  return problems;
}
