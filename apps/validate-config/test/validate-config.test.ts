import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, repoRoot, tempDir } from '@qsm/testkit';
import { describe, expect, it } from 'vitest';

const CLI = path.join(repoRoot, 'apps/validate-config/dist/main.js');
const TEMPLATE = path.join(repoRoot, 'packages/config/test/fixtures/butler-sos-production_template.yaml');

/** Butler SOS's template with its <placeholders> filled in, as a user would. */
function filledTemplate(): string {
  return readFileSync(TEMPLATE, 'utf8')
    .replace('<path/to/cert/client.pem>', 'cert/client.pem')
    .replace('<path/to/cert/client_key.pem>', 'cert/client_key.pem')
    .replace('<path/to/cert/root.pem>', 'cert/root.pem')
    .replaceAll('<server1.my.domain>', 'sense1.lab')
    .replaceAll('<server2.my.domain>', 'sense2.lab')
    .replace('<server1>', 'sense1')
    .replace('<server2>', 'sense2')
    .replaceAll('<description>', 'Central node');
}

describe('validate-config', () => {
  it('prints ok and a summary for a good file', () => {
    const file = path.join(tempDir('cli'), 'production.yaml');
    writeFileSync(file, filledTemplate());
    const out = execFileSync(process.execPath, [CLI, file, '--no-certificates'], { encoding: 'utf8' });
    expect(out.split('\n')[0]).toBe('ok');
    expect(out).toContain('sense1: sense1.lab:4243 / /hdr /sales');
    expect(out).toContain('influxdb: v3 at influxdb.mycompany.com:8086, database mydatabase');
  });

  it('with --probe, names every host it cannot reach, by its config path', async () => {
    const closed = await freePort();
    const file = path.join(tempDir('probe'), 'config.yaml');
    writeFileSync(
      file,
      filledTemplate()
        .replace('sense1.lab:4243', `127.0.0.1:${closed}`)
        .replace('sense2.lab:4243', 'no-such-host.invalid:4243')
        .replace('host: influxdb.mycompany.com', 'host: influx.invalid'),
    );
    const result = spawnSync(process.execPath, [CLI, file, '--no-certificates', '--probe'], {
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      `Butler-SOS.serversToMonitor.servers[0].userSessions.host: QPS of sense1: nothing listens on 127.0.0.1:${closed} (connection refused)`,
    );
    expect(result.stderr).toContain(
      'Butler-SOS.serversToMonitor.servers[1].userSessions.host: QPS of sense2: host name no-such-host.invalid not found',
    );
    expect(result.stderr).toContain(
      'Butler-SOS.influxdbConfig.host: InfluxDB: host name influx.invalid not found',
    );
  });

  it('lists the problems and exits non-zero for a bad file', () => {
    const result = spawnSync(process.execPath, [CLI, TEMPLATE], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Butler-SOS.cert.clientCertKey: cannot read');
    expect(result.stdout).not.toContain('ok');
  });

  it("accepts Butler SOS's raw template without certificates, and its probe names the placeholder hosts", () => {
    const loaded = spawnSync(process.execPath, [CLI, TEMPLATE, '--no-certificates'], { encoding: 'utf8' });
    expect(loaded.status).toBe(0);
    expect(loaded.stdout).toMatch(/^ok\n/);
    expect(loaded.stdout).toContain('"<server1.my.domain>:4243" is a placeholder');
    const probed = spawnSync(process.execPath, [CLI, TEMPLATE, '--no-certificates', '--probe'], {
      encoding: 'utf8',
    });
    expect(probed.status).toBe(1);
    expect(probed.stderr).toContain(
      'Butler-SOS.serversToMonitor.servers[0].userSessions.host: QPS of <server1>: <server1.my.domain>:4243 is not a host name',
    );
  });
});
