import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BUTLER_SOS_TEMPLATE, filledButlerSosTemplate, tempDir, testCertificates } from '@qsm/testkit';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  ConfigError,
  listPollTargets,
  loadConfigFile,
  parseConfig,
  resolveCertificateFile,
  validateConfig,
} from '../src/index.js';

/** A small valid config as data, for breaking one thing at a time. */
function baseConfig() {
  return {
    'Butler-SOS': {
      userSessions: {
        enableSessionExtract: true,
        pollingInterval: 10000,
        excludeUser: [{ directory: 'LAB', userId: 'bot' }],
      },
      serversToMonitor: {
        pollingInterval: 30000,
        rejectUnauthorized: true,
        serverTagsDefinition: ['server_group'],
        servers: [
          {
            host: 'sense1.lab:4747',
            serverName: 'sense1',
            serverDescription: 'Central',
            userSessions: {
              enable: true,
              host: 'sense1.lab:4243',
              virtualProxies: [{ virtualProxy: '/' }, { virtualProxy: '/hdr' }],
            },
            serverTags: { server_group: 'PROD' },
            headers: null,
          },
          {
            host: 'sense2.lab:4747',
            serverName: 'sense2',
            serverDescription: 'Rim',
            userSessions: {
              enable: true,
              host: 'sense2.lab:4243',
              virtualProxies: [{ virtualProxy: '/sales' }],
            },
            serverTags: { server_group: 'DEV' },
          },
        ],
      },
      cert: {
        clientCert: 'c/client.pem',
        clientCertKey: 'c/client_key.pem',
        clientCertCA: 'c/root.pem',
        clientCertPassphrase: '',
      },
      influxdbConfig: {
        enable: true,
        host: 'influx.lab',
        port: 8086,
        version: 1,
        v1Config: {
          auth: { enable: false, username: '', password: '' },
          dbName: 'senseops',
          retentionPolicy: { name: '10d', duration: '10d' },
        },
      },
      mqttConfig: { enable: true, brokerHost: 'mqtt.lab', brokerPort: 1883, baseTopic: 'butler-sos/' },
    },
  };
}

type Config = ReturnType<typeof baseConfig>;
type Root = Config['Butler-SOS'] & Record<string, unknown>;

function problemsOf(mutate: (root: Root) => void): string[] {
  const config = baseConfig();
  mutate(config['Butler-SOS'] as Root);
  try {
    validateConfig(config, '/etc/qsm/config.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  return [];
}

describe("Butler SOS's own production template", () => {
  it('loads once its placeholders are filled in, with the settings it describes', () => {
    const { settings } = parseConfig(filledButlerSosTemplate(), '/opt/butler-sos/config/production.yaml');
    expect(settings.userSessions).toEqual({
      enableSessionExtract: true,
      pollingInterval: 30000,
      excludeUser: [],
    });
    expect(listPollTargets(settings)).toEqual([
      { serverName: 'sense1', virtualProxy: '/' },
      { serverName: 'sense1', virtualProxy: '/hdr' },
      { serverName: 'sense1', virtualProxy: '/sales' },
      { serverName: 'sense2', virtualProxy: '/finance' },
    ]);
    expect(settings.serversToMonitor.servers[0]).toMatchObject({
      host: 'sense1.lab:4747',
      hostName: 'sense1.lab',
      serverTags: {},
      userSessions: { enable: true, host: 'sense1.lab:4243' },
    });
    expect(settings.influxdbConfig).toMatchObject({ enable: true, version: 3, maxBatchSize: 1000 });
    expect(settings.mqttConfig).toEqual({ enable: false });
    expect(settings.cert?.clientCert).toBe('/opt/butler-sos/config/cert/client.pem');
    expect(settings.errorTracking).toEqual({ influxdb: true, measurementName: 'butler_sos_errors' });
  });

  it('loads unchanged, with a warning for every host that still holds a placeholder', () => {
    const { settings, warnings } = loadConfigFile(BUTLER_SOS_TEMPLATE);
    expect(listPollTargets(settings)).toHaveLength(4);
    expect(settings.serversToMonitor.servers[1]).toMatchObject({
      host: '<server2.my.domain>:4747',
      hostName: '<server2.my.domain>',
      userSessions: { enable: true, host: '<server2.my.domain>:4243' },
    });
    const placeholders = warnings.filter((w) => /placeholder of Butler SOS's template/.test(w.message));
    expect(placeholders.map((w) => w.path)).toEqual([
      'Butler-SOS.serversToMonitor.servers[0].host',
      'Butler-SOS.serversToMonitor.servers[0].userSessions.host',
      'Butler-SOS.serversToMonitor.servers[1].host',
      'Butler-SOS.serversToMonitor.servers[1].userSessions.host',
    ]);
    expect(placeholders[1]!.message).toBe(
      `"<server1.my.domain>:4243" is a placeholder of Butler SOS's template: fill it in (until then, every poll of this server fails)`,
    );
  });

  it('reads the repository host of appNames (hostIP) once it is filled in, for discovery', () => {
    expect(loadConfigFile(BUTLER_SOS_TEMPLATE).settings.appNames).toBeUndefined();
    const filled = filledButlerSosTemplate().replace('hostIP: <IP or FQDN>', 'hostIP: qrs.lab');
    expect(parseConfig(filled, '/opt/butler-sos/config/production.yaml').settings.appNames).toEqual({
      hostIP: 'qrs.lab',
    });
  });

  it('still refuses a host name that is wrong rather than unfilled', () => {
    const broken = filledButlerSosTemplate().replace('sense1.lab:4243', 'sense 1.lab:4243');
    expect(() => parseConfig(broken, '/opt/butler-sos/config/production.yaml')).toThrow(
      /servers\[0\]\.userSessions\.host: "sense 1\.lab:4243" is not a valid host name/,
    );
  });

  it('says a host written as a URL or with a path must be host:port only, and which part to keep', () => {
    const asUrl = filledButlerSosTemplate().replace('sense1.lab:4243', 'https://sense1.lab:4243');
    expect(() => parseConfig(asUrl, '/opt/butler-sos/config/production.yaml')).toThrow(
      /servers\[0\]\.userSessions\.host: "https:\/\/sense1\.lab:4243" is a URL: write only host:port \(sense1\.lab:4243\)/,
    );
    const withPath = filledButlerSosTemplate().replace('sense1.lab:4243', 'sense1.lab:4243/qps/session');
    expect(() => parseConfig(withPath, '/opt/butler-sos/config/production.yaml')).toThrow(
      /userSessions\.host: "sense1\.lab:4243\/qps\/session" has a path: write only host:port \(sense1\.lab:4243\)/,
    );
  });

  it("refuses a destination's placeholder once its section is enabled: a sink could do nothing", () => {
    const mqttOn = filledButlerSosTemplate().replace(
      'mqttConfig:\n        enable: false',
      'mqttConfig:\n        enable: true',
    );
    expect(mqttOn).not.toBe(filledButlerSosTemplate());
    expect(() => parseConfig(mqttOn, '/opt/butler-sos/config/production.yaml')).toThrow(
      /Butler-SOS\.mqttConfig\.brokerHost: "<IP of MQTT broker\/server>" is not a valid host name/,
    );
  });

  it('names the certificate placeholders when a poller needs the files', () => {
    expect(() => loadConfigFile(BUTLER_SOS_TEMPLATE, { checkCertificates: true })).toThrow(
      /Butler-SOS\.cert\.clientCert: cannot read .*<path\/to\/cert\/client\.pem> \(ENOENT\): a placeholder of Butler SOS's template/,
    );
  });
});

describe('the userSessions section', () => {
  it('is optional: monitoring is on, every 30000 ms, with no blacklist', () => {
    const { settings } = validateConfig(
      (() => {
        const c = baseConfig();
        delete (c['Butler-SOS'] as Partial<Root>).userSessions;
        return c;
      })(),
      '/x/config.yaml',
    );
    expect(settings.userSessions).toEqual({
      enableSessionExtract: true,
      pollingInterval: 30000,
      excludeUser: [],
    });
    expect(listPollTargets(settings)).toHaveLength(3);
  });

  it('turns polling off with enableSessionExtract: false, whatever else it says', () => {
    const config = baseConfig();
    config['Butler-SOS'].userSessions = { enableSessionExtract: false } as never;
    const { settings } = validateConfig(config, '/x/config.yaml');
    expect(listPollTargets(settings)).toEqual([]);
  });

  it('polls only servers whose userSessions.enable is true', () => {
    const config = baseConfig();
    config['Butler-SOS'].serversToMonitor.servers[1]!.userSessions.enable = false;
    expect(listPollTargets(validateConfig(config, '/x/c.yaml').settings).map((t) => t.serverName)).toEqual([
      'sense1',
      'sense1',
    ]);
  });
});

describe('broken configs', () => {
  it.each<[string, (root: Root) => void, string]>([
    [
      'no serversToMonitor',
      (r) => {
        delete (r as Partial<Root>).serversToMonitor;
      },
      'Butler-SOS.serversToMonitor: required',
    ],
    [
      'no virtual proxies',
      (r) => {
        r.serversToMonitor.servers[1]!.userSessions.virtualProxies = [];
      },
      'Butler-SOS.serversToMonitor.servers[1].userSessions.virtualProxies: must have at least 1 item',
    ],
    [
      'a QPS host without port',
      (r) => {
        r.serversToMonitor.servers[1]!.userSessions.host = 'sense2.lab';
      },
      'Butler-SOS.serversToMonitor.servers[1].userSessions.host: "sense2.lab" has no port: QPS listens on 4243 by default (write "sense2.lab:4243")',
    ],
    [
      'no QPS host while enabled',
      (r) => {
        delete (r.serversToMonitor.servers[0]!.userSessions as { host?: string }).host;
      },
      'Butler-SOS.serversToMonitor.servers[0].userSessions.host: required when userSessions.enable is true',
    ],
    [
      'a string where a boolean belongs',
      (r) => {
        (r.serversToMonitor as Record<string, unknown>).rejectUnauthorized = 'yes';
      },
      'Butler-SOS.serversToMonitor.rejectUnauthorized: must be a boolean (got "yes")',
    ],
    [
      'two servers with one name',
      (r) => {
        r.serversToMonitor.servers[1]!.serverName = 'sense1';
      },
      'Butler-SOS.serversToMonitor.servers[1].serverName: "sense1" is already the name of servers[0]; server names must be unique',
    ],
    [
      'a prefix without leading slash',
      (r) => {
        r.serversToMonitor.servers[0]!.userSessions.virtualProxies[1]!.virtualProxy = 'hdr';
      },
      'Butler-SOS.serversToMonitor.servers[0].userSessions.virtualProxies[1].virtualProxy: must be "/" or start with "/" (write "/hdr")',
    ],
    [
      'a prefix with trailing slash',
      (r) => {
        r.serversToMonitor.servers[0]!.userSessions.virtualProxies[1]!.virtualProxy = '/hdr/';
      },
      'Butler-SOS.serversToMonitor.servers[0].userSessions.virtualProxies[1].virtualProxy: must not end with "/" (write "/hdr")',
    ],
    [
      'a prefix listed twice',
      (r) => {
        r.serversToMonitor.servers[0]!.userSessions.virtualProxies[1]!.virtualProxy = '/';
      },
      'Butler-SOS.serversToMonitor.servers[0].userSessions.virtualProxies[1].virtualProxy: "/" is listed twice for this server',
    ],
    [
      'a polling interval under a second',
      (r) => {
        r.userSessions.pollingInterval = 500;
      },
      'Butler-SOS.userSessions.pollingInterval: must be >= 1000 (got 500)',
    ],
    [
      'no polling interval while enabled',
      (r) => {
        delete (r.userSessions as { pollingInterval?: number }).pollingInterval;
      },
      'Butler-SOS.userSessions.pollingInterval: required',
    ],
    [
      'a declared tag missing on a server',
      (r) => {
        r.serversToMonitor.servers[1]!.serverTags = {} as never;
      },
      'Butler-SOS.serversToMonitor.servers[1].serverTags.server_group: required: declared in serverTagsDefinition',
    ],
    [
      'an undeclared server tag',
      (r) => {
        (r.serversToMonitor.servers[0]!.serverTags as Record<string, string>).rack = '12';
      },
      'Butler-SOS.serversToMonitor.servers[0].serverTags.rack: unknown tag: add "rack" to serversToMonitor.serverTagsDefinition or remove it',
    ],
    [
      'a tag name this product writes itself',
      (r) => {
        r.serversToMonitor.serverTagsDefinition.push('host');
        for (const s of r.serversToMonitor.servers) (s.serverTags as Record<string, string>).host = 'x';
      },
      'Butler-SOS.serversToMonitor.serverTagsDefinition[1]: "host" is a tag this product writes itself; choose another name',
    ],
    [
      'an unknown InfluxDB version',
      (r) => {
        (r.influxdbConfig as Record<string, unknown>).version = 4;
      },
      'Butler-SOS.influxdbConfig.version: must be 1, 2 or 3 (got 4)',
    ],
    [
      'no database name for InfluxDB 1.x',
      (r) => {
        delete (r.influxdbConfig.v1Config as { dbName?: string }).dbName;
      },
      'Butler-SOS.influxdbConfig.v1Config.dbName: required',
    ],
    [
      'InfluxDB auth on without a user name',
      (r) => {
        r.influxdbConfig.v1Config.auth = { enable: true, username: '', password: 'x' };
      },
      'Butler-SOS.influxdbConfig.v1Config.auth.username: required when auth.enable is true',
    ],
    [
      'a blacklist entry without userId',
      (r) => {
        r.userSessions.excludeUser = [{ directory: 'LAB' }] as never;
      },
      'Butler-SOS.userSessions.excludeUser[0].userId: required',
    ],
    [
      'MQTT on without a broker',
      (r) => {
        delete (r.mqttConfig as { brokerHost?: string }).brokerHost;
      },
      'Butler-SOS.mqttConfig.brokerHost: required',
    ],
    [
      'an MQTT wildcard in the base topic',
      (r) => {
        r.mqttConfig.baseTopic = 'qlik/#/';
      },
      'Butler-SOS.mqttConfig.baseTopic: must not contain the MQTT wildcards "+" or "#", or NUL',
    ],
    [
      'no certificates while polling',
      (r) => {
        delete (r as Partial<Root>).cert;
      },
      'Butler-SOS.cert: required',
    ],
    [
      'a server list that is a mapping',
      (r) => {
        (r.serversToMonitor as Record<string, unknown>).servers = { host: 'x' };
      },
      'Butler-SOS.serversToMonitor.servers: must be an array (got a mapping)',
    ],
    [
      'a port that is text',
      (r) => {
        (r.influxdbConfig as Record<string, unknown>).port = '8086';
      },
      'Butler-SOS.influxdbConfig.port: must be a number (got "8086")',
    ],
  ])('reports %s with its exact path', (_name, mutate, expected) => {
    expect(problemsOf(mutate)).toContain(expected);
  });

  it('reports every problem at once, not just the first', () => {
    const problems = problemsOf((r) => {
      r.userSessions.pollingInterval = 10;
      r.serversToMonitor.servers[0]!.userSessions.virtualProxies = [];
      (r.influxdbConfig as Record<string, unknown>).version = 9;
    });
    expect(problems).toHaveLength(3);
  });

  it('reports YAML syntax errors with their line', () => {
    expect(() => parseConfig('Butler-SOS:\n  userSessions: [\n', '/x/c.yaml')).toThrow(
      /YAML syntax error at line \d+/,
    );
  });

  it('merges YAML merge keys, as the parser of Butler SOS does, explicit keys winning', () => {
    const source = `
Butler-SOS:
  userSessions: { enableSessionExtract: true, pollingInterval: 10000, excludeUser: [] }
  cert: { clientCert: c.pem, clientCertKey: k.pem, clientCertCA: r.pem }
  serversToMonitor:
    pollingInterval: 30000
    rejectUnauthorized: true
    serverTagsDefinition: []
    servers:
      - &sense
        host: sense1.lab:4747
        serverName: sense1
        serverDescription: Central node
        userSessions:
          enable: true
          host: sense1.lab:4243
          virtualProxies: [{ virtualProxy: / }, { virtualProxy: /hdr }]
        serverTags: null
        headers: null
      - <<: *sense
        host: sense2.lab:4747
        serverName: sense2
`;
    const { settings, warnings } = parseConfig(source, '/x/c.yaml');
    expect(warnings).toEqual([]);
    expect(listPollTargets(settings).map((t) => `${t.serverName} ${t.virtualProxy}`)).toEqual([
      'sense1 /',
      'sense1 /hdr',
      'sense2 /',
      'sense2 /hdr',
    ]);
    expect(settings.serversToMonitor.servers[1]).toMatchObject({
      hostName: 'sense2.lab',
      serverDescription: 'Central node',
    });
  });

  it('requires the Butler-SOS root key', () => {
    expect(() => parseConfig('other: 1\n', '/x/c.yaml')).toThrow(/Butler-SOS: required/);
  });

  it('warns about unknown keys instead of failing, so configs from other Butler SOS versions load', () => {
    const config = baseConfig();
    (config['Butler-SOS'].serversToMonitor.servers[0] as Record<string, unknown>).serverTag = { a: 1 };
    const { warnings } = validateConfig(config, '/x/c.yaml');
    expect(warnings).toContainEqual({
      path: 'Butler-SOS.serversToMonitor.servers[0].serverTag',
      message: 'unknown key, ignored (a typo?)',
    });
  });
});

describe('certificate files', () => {
  async function configWithCerts(passphrase: string | null, keyPassphrase = 'pw-123') {
    const certs = await testCertificates('config-check', keyPassphrase);
    const dir = tempDir('config');
    const config = baseConfig();
    config['Butler-SOS'].cert = {
      clientCert: certs.client,
      clientCertKey: certs.clientKey,
      clientCertCA: certs.root,
      clientCertPassphrase: passphrase ?? '',
    };
    const file = path.join(dir, 'config.yaml');
    writeFileSync(file, stringify(config));
    return { file, certs };
  }

  it('resolves relative certificate paths against the config file folder', () => {
    const dir = tempDir('relative');
    const file = path.join(dir, 'production.yaml');
    writeFileSync(file, stringify(baseConfig()));
    expect(loadConfigFile(file).settings.cert?.clientCertKey).toBe(path.join(dir, 'c', 'client_key.pem'));
  });

  it('reads a relative certificate path from the working directory first, where Butler SOS reads it', () => {
    const butlerDir = tempDir('butler-sos-install');
    mkdirSync(path.join(butlerDir, 'config', 'certificate'), { recursive: true });
    writeFileSync(path.join(butlerDir, 'config', 'certificate', 'client.pem'), 'x');
    const configDir = path.join(butlerDir, 'config');
    expect(resolveCertificateFile('config/certificate/client.pem', configDir, butlerDir)).toBe(
      path.join(butlerDir, 'config', 'certificate', 'client.pem'),
    );
    // Not in the working directory: beside the config file, whether it is there or not.
    expect(resolveCertificateFile('certificate/client.pem', configDir, butlerDir)).toBe(
      path.join(configDir, 'certificate', 'client.pem'),
    );
    expect(resolveCertificateFile('certificate/root.pem', configDir, butlerDir)).toBe(
      path.join(configDir, 'certificate', 'root.pem'),
    );
    expect(resolveCertificateFile('/etc/qlik/client.pem', configDir, butlerDir)).toBe('/etc/qlik/client.pem');
  });

  it('accepts readable files and the right passphrase', async () => {
    const { file } = await configWithCerts('pw-123');
    expect(loadConfigFile(file, { checkCertificates: true }).settings.cert?.clientCertPassphrase).toBe(
      'pw-123',
    );
  });

  it('names a wrong passphrase', async () => {
    const { file, certs } = await configWithCerts('wrong');
    expect(() => loadConfigFile(file, { checkCertificates: true })).toThrow(
      `Butler-SOS.cert.clientCertPassphrase: does not decrypt ${certs.clientKey} (wrong passphrase)`,
    );
  });

  it('names a missing passphrase for an encrypted key', async () => {
    const { file } = await configWithCerts(null);
    expect(() => loadConfigFile(file, { checkCertificates: true })).toThrow(
      /clientCertPassphrase: required: .* is encrypted/,
    );
  });

  it('names an unreadable certificate file', () => {
    const dir = tempDir('missing');
    const file = path.join(dir, 'config.yaml');
    writeFileSync(file, stringify(baseConfig()));
    expect(() => loadConfigFile(file, { checkCertificates: true })).toThrow(
      `Butler-SOS.cert.clientCert: cannot read ${path.join(dir, 'c', 'client.pem')} (ENOENT)`,
    );
  });
});
