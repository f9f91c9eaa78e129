import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CertificateSet } from '@qsm/dev-certs';
import {
  BUTLER_SOS_TEMPLATE,
  filledButlerSosTemplate,
  freePort,
  repoRoot,
  type Simulator,
  startSimulator,
  tempDir,
  testCertificates,
  writeButlerConfig,
} from '@qsm/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = path.join(repoRoot, 'apps/validate-config/dist/main.js');

describe('validate-config', () => {
  it('prints ok and a summary for a good file', () => {
    const file = path.join(tempDir('cli'), 'production.yaml');
    writeFileSync(file, filledButlerSosTemplate());
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
      filledButlerSosTemplate()
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
    const result = spawnSync(process.execPath, [CLI, BUTLER_SOS_TEMPLATE], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Butler-SOS.cert.clientCertKey: cannot read');
    expect(result.stdout).not.toContain('ok');
  });

  it("accepts Butler SOS's raw template without certificates, and its probe names the placeholder hosts", () => {
    const loaded = spawnSync(process.execPath, [CLI, BUTLER_SOS_TEMPLATE, '--no-certificates'], {
      encoding: 'utf8',
    });
    expect(loaded.status).toBe(0);
    expect(loaded.stdout).toMatch(/^ok\n/);
    expect(loaded.stdout).toContain('"<server1.my.domain>:4243" is a placeholder');
    const probed = spawnSync(process.execPath, [CLI, BUTLER_SOS_TEMPLATE, '--no-certificates', '--probe'], {
      encoding: 'utf8',
    });
    expect(probed.status).toBe(1);
    expect(probed.stderr).toContain(
      'Butler-SOS.serversToMonitor.servers[0].userSessions.host: QPS of <server1>: <server1.my.domain>:4243 is not a host name',
    );
  });
});

describe('validate-config --discover', () => {
  let certs: CertificateSet;
  let sim: Simulator;
  let file: string;

  beforeAll(async () => {
    certs = await testCertificates('validate-config-discover');
    sim = await startSimulator(certs, [
      '--servers',
      '2',
      '--prefixes',
      '/,/hdr',
      '--sessions',
      '1',
      '--churn',
      '0',
      '--repository',
      '--unlinked-prefixes',
      '/spare',
    ]);
    const [first] = sim.servers;
    // The first node is listed with a virtual proxy the repository no longer has; the second is not listed.
    file = writeButlerConfig(tempDir('discover'), {
      certs,
      servers: [{ serverName: first!.name, qpsHost: first!.qpsHost, virtualProxies: ['/', '/gone'] }],
    });
  });

  afterAll(async () => {
    await sim?.stop();
  });

  const run = (env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [CLI, file, '--discover'], {
      encoding: 'utf8',
      // No REDIS_URL: the command must not need Redis.
      env: { PATH: process.env.PATH, QRS_HOST: sim.repository, ...env },
    });

  it('prints per node the virtualProxies to paste, with what they add to and remove from the file', () => {
    const result = run();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const [first, second] = sim.servers;
    const out = result.stdout;
    expect(out).toMatch(/^ok\n/);
    expect(out).toContain(
      `discovery: the Qlik repository at ${sim.repository} has 2 proxy nodes, 1 unlinked virtual proxy`,
    );
    expect(out).toContain(
      [
        `node ${first!.nodeName} (${first!.hostName}), QPS ${first!.qpsHost}: servers[0] (${first!.name})`,
        '  virtualProxies:',
        '    - virtualProxy: /',
        '    - virtualProxy: /hdr',
        '  added: /hdr',
        '  removed: /gone',
      ].join('\n'),
    );
    expect(out).toContain(
      [
        `node ${second!.nodeName} (${second!.hostName}), QPS ${second!.qpsHost}: in no servers[] entry`,
        '  virtualProxies:',
        '    - virtualProxy: /',
        '    - virtualProxy: /hdr',
        '  added: / /hdr',
        '  removed: -',
      ].join('\n'),
    );
    expect(out).toContain('note: virtual proxy /spare');
  });

  it('follows a virtual proxy renamed in the repository: one removal, one addition', async () => {
    await sim.renameVirtualProxy('/hdr', '/header');
    try {
      const out = run().stdout;
      expect(out).toContain('    - virtualProxy: /header\n  added: /header\n  removed: /gone\n');
    } finally {
      await sim.renameVirtualProxy('/header', '/hdr');
    }
  });

  it('exits non-zero, naming the repository, when it cannot be read', async () => {
    await sim.stopRepository();
    try {
      const result = run({ QRS_TIMEOUT_MS: '2000' });
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      // Both lists are read at once: either refusal may come first.
      expect(result.stderr).toContain(`env.QRS_HOST: Qlik repository https://${sim.repository}/qrs/`);
      expect(result.stderr).toContain('/full: connection refused (ECONNREFUSED)');
    } finally {
      await sim.startRepository();
    }
  });

  it('says what is missing when no repository host is known', () => {
    const result = spawnSync(process.execPath, [CLI, file, '--discover'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      'env.QRS_HOST: required with DISCOVERY_ENABLE=true unless Butler-SOS.appNames.hostIP is set',
    );
  });
});
