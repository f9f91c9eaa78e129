import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ConfigProblem } from './config-error.js';
import { isTemplatePlaceholder } from './host-port.js';
import type { CertificateSettings } from './settings.js';

const AT = 'Butler-SOS.cert';

/**
 * Where a certificate path of the config points. Butler SOS reads a relative path from its working
 * directory, so a file found there is that one; otherwise the path is taken as relative to the config
 * file's folder, which is where it is found when the folder travels with its certificates (a mounted
 * config directory in a container).
 */
export function resolveCertificateFile(file: string, configDir: string, cwd: string = process.cwd()): string {
  if (path.isAbsolute(file)) return file;
  const fromWorkingDirectory = path.resolve(cwd, file);
  return existsSync(fromWorkingDirectory) ? fromWorkingDirectory : path.resolve(configDir, file);
}

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
