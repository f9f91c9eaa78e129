import path from 'node:path';
import { type CertificateSet, generateCertificateSet } from '@qsm/dev-certs';
import { tempDir } from './paths.js';

const sets = new Map<string, Promise<CertificateSet>>();

/**
 * A certificate set for tests, generated once per process and name. Different names give different
 * CAs, so `testCertificates('foreign')` yields a client certificate the simulator must refuse.
 */
export function testCertificates(name = 'main', passphrase?: string): Promise<CertificateSet> {
  const key = `${name}:${passphrase ?? ''}`;
  let set = sets.get(key);
  if (!set) {
    set = generateCertificateSet({
      dir: path.join(tempDir(`certs-${name}`)),
      caName: `QSM test CA ${name}`,
      ...(passphrase ? { passphrase } : {}),
    });
    sets.set(key, set);
  }
  return set;
}
