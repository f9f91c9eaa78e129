#!/usr/bin/env node
import { ConfigError, loadConfigFile, probeHosts, summarizeSettings } from '@qsm/config';

/** `validate-config <file>`: prints "ok" and a summary, or every problem; exits 1 when there is one. */
const args = process.argv.slice(2).filter((a) => a !== '--');
const file = args.find((a) => !a.startsWith('-')) ?? process.env.CONFIG_FILE;
if (!file || args.includes('--help') || args.includes('-h')) {
  process.stdout.write(
    'usage: validate-config <butler-sos-config.yaml> [--no-certificates] [--probe]\n' +
      '  --probe  also try to connect to every QPS, InfluxDB and MQTT host the file names\n',
  );
  process.exit(file ? 0 : 2);
}
try {
  const { settings, warnings } = loadConfigFile(file, {
    checkCertificates: !args.includes('--no-certificates'),
  });
  const unreachable = args.includes('--probe') ? await probeHosts(settings) : [];
  if (unreachable.length > 0) throw new ConfigError(settings.configFile, unreachable);
  process.stdout.write(`ok\n${summarizeSettings(settings, warnings)}\n`);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
