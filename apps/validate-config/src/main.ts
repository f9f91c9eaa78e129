#!/usr/bin/env node
import { ConfigError, loadConfigFile, probeHosts, summarizeSettings } from '@qsm/config';
import { discover } from './discover.js';

/**
 * `validate-config <file>`: prints "ok" and a summary, or every problem; exits 1 when there is one.
 * Needs no Redis: it is what a user runs before anything else.
 */
const args = process.argv.slice(2).filter((a) => a !== '--');
const file = args.find((a) => !a.startsWith('-')) ?? process.env.CONFIG_FILE;
if (!file || args.includes('--help') || args.includes('-h')) {
  process.stdout.write(
    'usage: validate-config <butler-sos-config.yaml> [--no-certificates] [--probe] [--discover]\n' +
      '  --probe     also try to connect to every QPS, InfluxDB and MQTT host the file names\n' +
      '  --discover  also read the Qlik repository once (QRS_HOST or appNames.hostIP, and the other\n' +
      '              DISCOVERY_* variables) and print, per proxy node, the virtualProxies to paste\n',
  );
  process.exit(file ? 0 : 2);
}
try {
  const { settings, warnings } = loadConfigFile(file, {
    checkCertificates: !args.includes('--no-certificates'),
  });
  const unreachable = args.includes('--probe') ? await probeHosts(settings) : [];
  if (unreachable.length > 0) throw new ConfigError(settings.configFile, unreachable);
  const discovered = args.includes('--discover') ? await discover(settings) : undefined;
  process.stdout.write(`ok\n${summarizeSettings(settings, warnings)}\n`);
  if (discovered) process.stdout.write(`\n${discovered}\n`);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
