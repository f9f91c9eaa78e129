import { describe, expect, it } from 'vitest';
import type { ConfigError } from './config-error.js';
import { type DiscoverySettings, discoveryEnvSchema, readDiscoverySettings } from './discovery.js';
import { readEnvironment } from './environment.js';
import type { Settings } from './settings.js';

const cert = {
  clientCert: '/certs/client.pem',
  clientCertKey: '/certs/client_key.pem',
  clientCertCA: '/certs/root.pem',
  clientCertPassphrase: null,
};

function settingsWith(overrides: Partial<Settings> & { tags?: string[] } = {}): Settings {
  const { tags = [], ...rest } = overrides;
  return {
    configFile: '/etc/qsm/config.yaml',
    userSessions: { enableSessionExtract: true, pollingInterval: 30_000, excludeUser: [] },
    serversToMonitor: { rejectUnauthorized: true, serverTagsDefinition: tags, servers: [] },
    cert,
    influxdbConfig: { enable: false },
    mqttConfig: { enable: false },
    prometheus: { enable: false },
    errorTracking: { influxdb: false, measurementName: 'butler_sos_errors' },
    ...rest,
  };
}

function discovery(
  env: NodeJS.ProcessEnv,
  settings: Settings = settingsWith(),
): DiscoverySettings | undefined {
  return readDiscoverySettings(readEnvironment(discoveryEnvSchema, env), settings);
}

function problems(run: () => unknown): string[] {
  try {
    run();
    return [];
  } catch (error) {
    return (error as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
  }
}

describe('discovery settings', () => {
  it('are off unless DISCOVERY_ENABLE is true, whatever else is missing', () => {
    expect(discovery({}, settingsWith({ cert: null, tags: ['site'] }))).toBeUndefined();
    expect(discovery({ DISCOVERY_ENABLE: 'false' })).toBeUndefined();
  });

  it("read Butler SOS's repository host (appNames.hostIP) on port 4242 by default", () => {
    const found = discovery(
      { DISCOVERY_ENABLE: 'true' },
      settingsWith({ appNames: { hostIP: 'sense1.lab' } }),
    );
    expect(found).toEqual({
      intervalMs: 600_000,
      repository: {
        hostname: 'sense1.lab',
        port: 4242,
        address: 'sense1.lab:4242',
        source: 'Butler-SOS.appNames.hostIP',
        userDirectory: 'INTERNAL',
        userId: 'sa_api',
        timeoutMs: 30_000,
      },
      cert,
      rejectUnauthorized: true,
      excludePrefixes: [],
      excludeNodes: [],
      hostOverrides: {},
      serverTags: {},
    });
  });

  it('take QRS_HOST over appNames.hostIP, with or without a port, and every list', () => {
    const found = discovery(
      {
        DISCOVERY_ENABLE: 'true',
        DISCOVERY_INTERVAL_MS: '60000',
        QRS_HOST: 'qrs.lab',
        QRS_USER: 'LAB\\svc_qsm',
        QRS_TIMEOUT_MS: '5000',
        DISCOVERY_EXCLUDE_PREFIXES: '/, /hdr',
        DISCOVERY_EXCLUDE_NODES: 'rim3 , sense4.lab',
        DISCOVERY_HOST_OVERRIDES: 'Sense2.corp.local=10.0.0.12:14243, sense3.corp.local=[fe80::1]',
        DISCOVERY_SERVER_TAGS: 'site=north,env=a=b',
      },
      settingsWith({ appNames: { hostIP: 'sense1.lab' }, tags: ['site', 'env'] }),
    );
    expect(found).toMatchObject({
      intervalMs: 60_000,
      repository: {
        hostname: 'qrs.lab',
        port: 4242,
        source: 'env.QRS_HOST',
        userDirectory: 'LAB',
        userId: 'svc_qsm',
        timeoutMs: 5000,
      },
      excludePrefixes: ['/', '/hdr'],
      excludeNodes: ['rim3', 'sense4.lab'],
      hostOverrides: {
        'sense2.corp.local': { hostname: '10.0.0.12', port: 14243 },
        'sense3.corp.local': { hostname: 'fe80::1' },
      },
      serverTags: { site: 'north', env: 'a=b' },
    });
    expect(discovery({ DISCOVERY_ENABLE: 'true', QRS_HOST: '[fe80::2]:4343' })?.repository).toMatchObject({
      hostname: 'fe80::2',
      port: 4343,
      address: '[fe80::2]:4343',
    });
  });

  it('name the variable or key that stops discovery from working', () => {
    expect(problems(() => discovery({ DISCOVERY_ENABLE: 'true' }, settingsWith({ cert: null })))).toEqual([
      'env.QRS_HOST: required with DISCOVERY_ENABLE=true unless Butler-SOS.appNames.hostIP is set',
      'Butler-SOS.cert: required with DISCOVERY_ENABLE=true: the repository is read with the client certificate exported from the QMC',
    ]);
    expect(
      problems(() =>
        discovery({ DISCOVERY_ENABLE: 'true' }, settingsWith({ appNames: { hostIP: 'https://qrs' } })),
      ),
    ).toEqual([
      'Butler-SOS.appNames.hostIP: "https://qrs" is a URL: write only host:port (qrs): discovery reads the repository there (or set env.QRS_HOST)',
    ]);
  });

  it('give every declared tag a value for discovered nodes, and no undeclared one', () => {
    expect(
      problems(() =>
        discovery(
          { DISCOVERY_ENABLE: 'true', QRS_HOST: 'qrs.lab', DISCOVERY_SERVER_TAGS: 'site=north,color=red' },
          settingsWith({ tags: ['site', 'env'] }),
        ),
      ),
    ).toEqual([
      'env.DISCOVERY_SERVER_TAGS: missing "env" (declared in Butler-SOS.serversToMonitor.serverTagsDefinition): nodes in no servers[] entry need a value, e.g. env=<value>',
      'env.DISCOVERY_SERVER_TAGS: "color" is not declared in Butler-SOS.serversToMonitor.serverTagsDefinition: add it there or remove it',
    ]);
  });

  it('refuse malformed variables with their name', () => {
    expect(
      problems(() =>
        readEnvironment(discoveryEnvSchema, {
          DISCOVERY_ENABLE: 'maybe',
          DISCOVERY_INTERVAL_MS: '500',
          QRS_HOST: 'qrs.lab:99999',
          QRS_USER: 'sa_api',
          DISCOVERY_EXCLUDE_PREFIXES: 'hdr,/a/b',
          DISCOVERY_HOST_OVERRIDES: 'sense2.lab,sense3.lab:4243=x,sense4.lab=bad host',
          DISCOVERY_SERVER_TAGS: 'site,=x,site=a,site=b',
        }),
      ),
    ).toEqual([
      'env.DISCOVERY_ENABLE: must be true or false',
      'env.DISCOVERY_INTERVAL_MS: must be >= 1000 (got 500)',
      'env.QRS_HOST: "qrs.lab:99999" has an invalid port "99999"',
      'env.QRS_USER: must be DIRECTORY\\userid (e.g. INTERNAL\\sa_api)',
      'env.DISCOVERY_EXCLUDE_PREFIXES: "hdr" must be "/" or start with "/" (write "/hdr")',
      'env.DISCOVERY_EXCLUDE_PREFIXES: "/a/b" must be a single path segment ("/name")',
      'env.DISCOVERY_HOST_OVERRIDES: "sense2.lab" is not nodehost=host[:port] (write sense2.corp.local=10.0.0.12:4243)',
      'env.DISCOVERY_HOST_OVERRIDES: "sense3.lab:4243" is not a node host name (write the host name the QMC shows, without a port)',
      'env.DISCOVERY_HOST_OVERRIDES: sense4.lab=bad host: "bad host" is not a valid host name or IP address',
      'env.DISCOVERY_SERVER_TAGS: "site" is not tag=value (write site=north)',
      'env.DISCOVERY_SERVER_TAGS: "=x" is not tag=value (write site=north)',
      'env.DISCOVERY_SERVER_TAGS: "site" is given twice',
    ]);
  });
});
