#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { generateCertificateSet, hasCertificateSet } from './generate-certificates.js';

/** `gen-dev-certs [--dir .dev-certs] [--passphrase x] [--server-name qps-sim]... [--force]` */
const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '.dev-certs' },
    passphrase: { type: 'string' },
    'server-name': { type: 'string', multiple: true },
    force: { type: 'boolean', default: false },
  },
});
const dir = values.dir;
if (hasCertificateSet(dir) && !values.force) {
  process.stdout.write(`certificates already in ${dir} (use --force to replace them)\n`);
} else {
  const set = await generateCertificateSet({
    dir,
    ...(values.passphrase ? { passphrase: values.passphrase } : {}),
    serverNames: values['server-name'] ?? [],
  });
  process.stdout.write(
    `wrote ${set.root}, ${set.client}, ${set.clientKey}${set.passphrase ? ' (encrypted)' : ''}, ${set.server}, ${set.serverKey}\n`,
  );
}
