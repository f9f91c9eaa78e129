import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, startSimulator, stopAll, tempDir, testCertificates } from '@qsm/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  APPS,
  type ComposeFile,
  composeFile,
  dashboardFile,
  dashboardProviderFile,
  dockerCompose,
  infraDir,
  readCompose,
  readText,
  type Service,
  service,
  splitVolume,
} from './infra-files.js';

/*
 * infra/docker-compose.yml: valid for docker-compose (v1 1.29 and later, also Compose v2), clean for dclint,
 * and the properties the stack relies on: Redis keeps queued results (AOF) and every key (noeviction),
 * InfluxDB 1.x accepts a new user_session_id tag value per session, the poller scales, the apps run from
 * one image as non-root with their health check, and the demo profile polls the simulator.
 */

const compose = readCompose();
const REQUIRED = { BOARD_PASSWORD: 'test-board-password' };

afterAll(async () => {
  await stopAll();
});

const commandText = (s: Service) => (Array.isArray(s.command) ? s.command.join(' ') : (s.command ?? ''));
const durationMs = (text: string) => {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text);
  if (!match) throw new Error(`not a compose duration: ${text}`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'];
};
/** `${expression}` as it is written in the compose file. */
const ref = (expression: string) => `\${${expression}}`;
/** `${VAR:-default}` -> default, as compose resolves it when VAR is unset. */
const withDefaults = (text: string) => text.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');

describe('docker-compose', () => {
  it('accepts the file (`config -q`), with and without the demo profile', () => {
    for (const args of [
      ['config', '-q'],
      ['--profile', 'demo', 'config', '-q'],
    ]) {
      const result = dockerCompose(args, REQUIRED);
      expect(result.stderr, `docker-compose ${args.join(' ')}`).toBe('');
      expect(result.status, `docker-compose ${args.join(' ')}: ${result.stderr}`).toBe(0);
    }
  });

  it('accepts infra/.env.example once BOARD_PASSWORD is filled in', () => {
    const example = readText(path.join(infraDir, '.env.example'));
    const env = Object.fromEntries(
      example
        .split('\n')
        .filter((line) => /^[A-Z0-9_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(Object.keys(env)).toContain('BOARD_PASSWORD');
    const result = dockerCompose(['--profile', 'demo', 'config', '-q'], { ...env, ...REQUIRED });
    expect(result.status, result.stderr).toBe(0);
  });

  it('refuses to start without BOARD_PASSWORD, saying which variable is missing', () => {
    const result = dockerCompose(['config', '-q']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/BOARD_PASSWORD/);
  });

  it('resolves the Redis password into every REDIS_URL and the config dir into every app', () => {
    const resolve = (env: Record<string, string>) => {
      const result = dockerCompose(['config'], { ...REQUIRED, ...env });
      expect(result.status, result.stderr).toBe(0);
      return parse(result.stdout) as ComposeFile;
    };
    const configTarget = (s: Service) =>
      (s.volumes as Array<string | { source?: string; target: string }>)
        .map((v) => (typeof v === 'string' ? splitVolume(v) : { source: v.source ?? '', target: v.target }))
        .find((v) => v.target === '/config');

    const withPassword = resolve({ REDIS_PASSWORD: 's3cret', QSM_CONFIG_DIR: '/etc/qlik-session-monitor' });
    const open = resolve({});
    for (const app of APPS) {
      expect(service(withPassword, app).environment?.REDIS_URL).toBe('redis://:s3cret@redis:6379');
      expect(service(open, app).environment?.REDIS_URL).toBe('redis://:@redis:6379');
      expect(configTarget(service(withPassword, app))?.source).toBe('/etc/qlik-session-monitor');
      // Unset, the apps read the demo volume that the demo profile fills.
      expect(configTarget(service(open, app))?.source).toMatch(/qsm-demo-config$/);
    }
    expect(service(withPassword, 'redis').environment?.REDIS_PASSWORD).toBe('s3cret');
  });
});

describe('dclint', () => {
  it('reports no problem (schema included) with infra/.dclintrc.yml', () => {
    const bin = path.join(repoRoot, 'tests', 'infra', 'node_modules', '.bin', 'dclint');
    const result = spawnSync(
      bin,
      ['-c', path.join(infraDir, '.dclintrc.yml'), '-f', 'json', '--color', 'false', composeFile],
      { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 },
    );
    expect(result.error).toBeUndefined();
    const start = result.stdout.indexOf('[');
    const report = JSON.parse(result.stdout.slice(start)) as Array<{
      errorCount: number;
      warningCount: number;
      messages: unknown[];
    }>;
    expect(report.flatMap((r) => r.messages)).toEqual([]);
    expect(report.reduce((n, r) => n + r.errorCount, 0)).toBe(0);
    expect(result.status, result.stderr).toBe(0);
  });
});

describe('services', () => {
  it('has no top-level name (docker-compose v1 rejects it) and no container_name (scaling)', () => {
    expect(compose).not.toHaveProperty('name');
    expect(compose).not.toHaveProperty('version');
    for (const [name, s] of Object.entries(compose.services))
      expect(s, name).not.toHaveProperty('container_name');
  });

  it('redis: AOF every second, noeviction, optional password, a volume and a ping health check', () => {
    const redis = service(compose, 'redis');
    expect(redis.image).toMatch(/^redis:7-alpine$/);
    const command = commandText(redis);
    expect(command).toMatch(/--appendonly yes/);
    expect(command).toMatch(/--appendfsync everysec/);
    expect(command).toMatch(/--maxmemory-policy noeviction/);
    expect(command).toMatch(/--requirepass "\$\$REDIS_PASSWORD"/);
    // Through the image's entrypoint, which drops root before starting redis-server.
    expect(command).toMatch(/exec docker-entrypoint\.sh redis-server/);
    expect(redis.volumes?.map((v) => splitVolume(v).target)).toContain('/data');
    expect(String(redis.healthcheck?.test)).toMatch(/redis-cli.*ping/);
  });

  it('influxdb 1.8: no limit on values per tag or series, no reporting, no HTTP log, health check on /ping', () => {
    const influx = service(compose, 'influxdb');
    expect(influx.image).toBe('influxdb:1.8');
    expect(influx.environment).toMatchObject({
      INFLUXDB_DATA_MAX_VALUES_PER_TAG: '0',
      INFLUXDB_DATA_MAX_SERIES_PER_DATABASE: '0',
      INFLUXDB_REPORTING_DISABLED: 'true',
      INFLUXDB_HTTP_LOG_ENABLED: 'false',
    });
    expect(influx.volumes?.map((v) => splitVolume(v).target)).toContain('/var/lib/influxdb');
    expect(String(influx.healthcheck?.test)).toMatch(/\/ping/);
  });

  it('mosquitto 2: the mounted config listens on 1883, anonymous, persistent in the data volume', () => {
    const mosquitto = service(compose, 'mosquitto');
    expect(mosquitto.image).toBe('eclipse-mosquitto:2');
    const conf = mosquitto.volumes
      ?.map(splitVolume)
      .find((v) => v.target === '/mosquitto/config/mosquitto.conf');
    expect(conf?.source).toBe('./mosquitto/mosquitto.conf');
    const text = readText(path.join(infraDir, conf!.source));
    expect(text).toMatch(/^listener 1883$/m);
    expect(text).toMatch(/^allow_anonymous true$/m);
    expect(text).toMatch(/^persistence true$/m);
    expect(text).toMatch(/^persistence_location \/mosquitto\/data\/$/m);
    expect(mosquitto.volumes?.map((v) => splitVolume(v).target)).toContain('/mosquitto/data');
  });

  it('grafana: provisioning and dashboards mounted where the provider looks, admin password from the env', () => {
    const grafana = service(compose, 'grafana');
    expect(grafana.image).toMatch(/^grafana\/grafana-oss:\d+\.\d+\.\d+$/);
    const mounts = grafana.volumes!.map(splitVolume);
    expect(mounts).toContainEqual({
      source: './grafana/provisioning',
      target: '/etc/grafana/provisioning',
      mode: 'ro',
    });
    const provider = parse(readText(dashboardProviderFile)) as {
      providers: Array<{ type: string; options: { path: string } }>;
    };
    const dashboards = mounts.find((m) => m.target === provider.providers[0]?.options.path);
    expect(dashboards?.source).toBe('./grafana/dashboards');
    expect(existsSync(path.join(infraDir, dashboards!.source, path.basename(dashboardFile)))).toBe(true);
    expect(grafana.environment?.GF_SECURITY_ADMIN_PASSWORD).toMatch(/^\$\{GRAFANA_ADMIN_PASSWORD:-[^}]+\}$/);
    // The datasource file reads $INFLUX_DB from Grafana's environment.
    expect(grafana.environment?.INFLUX_DB).toBe(ref('INFLUX_DB:-senseops'));
  });

  it('publishes ports only on QSM_BIND_ADDRESS (default 127.0.0.1)', () => {
    const published = Object.entries(compose.services).flatMap(([name, s]) =>
      (s.ports ?? []).map((p) => [name, String(p)] as const),
    );
    expect(published.length).toBeGreaterThan(0);
    for (const [name, port] of published)
      expect(port, name).toMatch(/^\$\{QSM_BIND_ADDRESS:-127\.0\.0\.1\}:/);
  });
});

describe('app services', () => {
  const dockerfileText = readText(path.join(infraDir, 'Dockerfile'));

  it.each(APPS)('%s runs from the one image, with the config dir, Redis and a clean stop', (app) => {
    const s = service(compose, app);
    expect(s.build).toEqual({ context: '..', dockerfile: 'infra/Dockerfile' });
    expect(existsSync(path.join(infraDir, s.build!.context, s.build!.dockerfile))).toBe(true);
    expect(s.image).toBe('qlik-session-monitor:local');
    // The poller keeps Node 20's young generation on newer Node (docs/performance.md); the others run as is.
    const nodeFlags = app === 'poller' ? ['--max-semi-space-size=8'] : [];
    expect(s.command).toEqual(['node', ...nodeFlags, `apps/${app}/dist/main.js`]);
    expect(existsSync(path.join(repoRoot, 'apps', app, 'package.json')), `apps/${app}`).toBe(true);

    const env = s.environment!;
    expect(env.CONFIG_FILE).toBe('/config/config.yaml');
    expect(env.REDIS_URL).toBe(`redis://:${ref('REDIS_PASSWORD:-')}@redis:6379`);
    expect(env.QUEUE_PREFIX).toMatch(/^\$\{QUEUE_PREFIX:-qsm\}$/);
    expect(env.LOG_LEVEL).toMatch(/^\$\{LOG_LEVEL:-info\}$/);
    expect(env.HTTP_PORT).toMatch(/^\d+$/);

    const config = s.volumes?.map(splitVolume).find((v) => v.target === '/config');
    expect(config).toEqual({ source: ref('QSM_CONFIG_DIR:-qsm-demo-config'), target: '/config', mode: 'ro' });
    expect(compose.volumes).toHaveProperty('qsm-demo-config');

    expect(s.depends_on?.redis).toEqual({ condition: 'service_healthy' });
    expect(s.restart).toBe('unless-stopped');
    // Docker's SIGKILL must come after the app's own shutdown deadline (SHUTDOWN_TIMEOUT_MS, 8000 by default).
    const shutdownMs = Number(withDefaults(env.SHUTDOWN_TIMEOUT_MS ?? '8000'));
    expect(durationMs(withDefaults(String(s.stop_grace_period)))).toBeGreaterThan(shutdownMs);

    // Health: the image's HEALTHCHECK (node fetches /healthz on HTTP_PORT), not switched off here.
    expect(s.healthcheck?.disable).not.toBe(true);
    if (!s.healthcheck) expect(dockerfileText).toMatch(/^HEALTHCHECK [^\n]*\\\n[^\n]*\/healthz/m);
    // Non-root: the image's USER node, not overridden.
    expect(s.user).toBeUndefined();
  });

  it('each app has its own HTTP_PORT', () => {
    const ports = APPS.map((app) => service(compose, app).environment?.HTTP_PORT);
    expect(new Set(ports).size).toBe(APPS.length);
  });

  it('the poller scales: no container_name, no published ports', () => {
    const poller = service(compose, 'poller');
    expect(poller).not.toHaveProperty('container_name');
    expect(poller).not.toHaveProperty('ports');
  });

  it('the sinks wait for their destination, and take their secrets from the environment', () => {
    const influx = service(compose, 'influx-sink');
    expect(influx.depends_on?.influxdb).toEqual({ condition: 'service_healthy' });
    for (const name of ['INFLUX_USERNAME', 'INFLUX_PASSWORD', 'INFLUX_TOKEN'])
      expect(influx.environment?.[name]).toBe(ref(`${name}:-`));
    const mqtt = service(compose, 'mqtt-sink');
    expect(mqtt.depends_on?.mosquitto).toEqual({ condition: 'service_healthy' });
    for (const name of ['MQTT_USERNAME', 'MQTT_PASSWORD'])
      expect(mqtt.environment?.[name]).toBe(ref(`${name}:-`));
  });

  it('the board listens on all interfaces of its container, behind a login that must be set', () => {
    const board = service(compose, 'board');
    expect(board.environment).toMatchObject({ BOARD_HOST: '0.0.0.0', BOARD_PORT: '3000' });
    expect(board.environment?.BOARD_USERNAME).toMatch(/^\$\{BOARD_USERNAME(:-[^}]+)?\}$/);
    expect(board.environment?.BOARD_PASSWORD).toMatch(/^\$\{BOARD_PASSWORD:\?[^}]+\}$/);
    expect(board.ports?.map((p) => String(p).split(':').at(-1))).toEqual(['3000']);
  });

  it('every variable the file reads is documented in infra/.env.example', () => {
    const used = new Set([...readText(composeFile).matchAll(/(?<!\$)\$\{([A-Z0-9_]+)/g)].map((m) => m[1]));
    const example = readText(path.join(infraDir, '.env.example'));
    const documented = new Set([...example.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]));
    expect([...used].filter((v) => !documented.has(v))).toEqual([]);
  });
});

describe('demo profile', () => {
  const sim = service(compose, 'qps-sim');
  const certs = service(compose, 'demo-certs');
  const demoConfig = parse(readText(path.join(infraDir, 'config', 'demo.yaml'))) as {
    'Butler-SOS': {
      serversToMonitor: { servers: Array<{ serverName: string; userSessions: { host: string } }> };
      influxdbConfig: { host: string; port: number; v1Config: { dbName: string } };
      mqttConfig: { brokerHost: string; brokerPort: number };
    };
  };
  const simConfigMount = sim.volumes?.map(splitVolume).find((v) => v.source.startsWith('./config/'));
  const simConfig = parse(readText(path.join(infraDir, simConfigMount?.source ?? 'missing'))) as {
    servers: Array<{ name: string; listen: string; port: number; virtualProxies: Array<{ prefix: string }> }>;
  };

  it('qps-sim and demo-certs run only with --profile demo, from the one image', () => {
    for (const s of [sim, certs]) {
      expect(s.profiles).toEqual(['demo']);
      expect(s.image).toBe('qlik-session-monitor:local');
    }
    expect(sim.depends_on?.['demo-certs']).toEqual({ condition: 'service_completed_successfully' });
    expect(certs.healthcheck?.disable).toBe(true);
  });

  it('demo-certs writes the certificates and config.yaml into the volume the apps mount at /config', () => {
    const command = commandText(certs);
    expect(command).toMatch(/node packages\/dev-certs\/dist\/cli\.js --dir \/config/);
    expect(certs.volumes?.map(splitVolume)).toContainEqual({
      source: 'qsm-demo-config',
      target: '/config',
      mode: undefined,
    });
    expect(command).toMatch(/cp \/demo\/demo\.yaml \/config\/config\.yaml/);
    expect(certs.volumes?.map(splitVolume)).toContainEqual({
      source: './config/demo.yaml',
      target: '/demo/demo.yaml',
      mode: 'ro',
    });
    // The simulator's server certificate is valid for every name the pollers use.
    const names = [...command.matchAll(/--server-name (\S+)/g)].map((m) => m[1]);
    expect(names).toContain('qps-sim');
    for (const server of demoConfig['Butler-SOS'].serversToMonitor.servers) {
      expect(names).toContain(server.userSessions.host.split(':')[0]);
    }
  });

  it('demo.yaml polls every simulated server at its network alias and port, writes to the stack', () => {
    const aliases = (sim.networks as { default: { aliases: string[] } }).default.aliases;
    const servers = demoConfig['Butler-SOS'].serversToMonitor.servers;
    expect(servers.map((s) => s.serverName).sort()).toEqual(simConfig.servers.map((s) => s.name).sort());
    for (const server of servers) {
      const [host, port] = server.userSessions.host.split(':');
      const simulated = simConfig.servers.find((s) => s.name === server.serverName);
      expect(aliases).toContain(host);
      expect(simulated?.listen).toBe('0.0.0.0');
      expect(simulated?.port).toBe(Number(port));
    }
    const { influxdbConfig, mqttConfig } = demoConfig['Butler-SOS'];
    expect(influxdbConfig).toMatchObject({ host: 'influxdb', port: 8086, v1Config: { dbName: 'senseops' } });
    expect(mqttConfig).toMatchObject({ brokerHost: 'mosquitto', brokerPort: 1883 });
    expect(commandText(sim)).toMatch(new RegExp(`--config ${simConfigMount?.target} --certs /certs`));
    expect(commandText(sim)).toMatch(/--control-host 0\.0\.0\.0/);
  });

  it('demo.yaml passes validate-config next to the certificates demo-certs generates', () => {
    const dir = tempDir('demo-config');
    const certsCli = spawnSync(
      process.execPath,
      [path.join(repoRoot, 'packages/dev-certs/dist/cli.js'), '--dir', dir, '--server-name', 'qps-sim'],
      { encoding: 'utf8' },
    );
    expect(certsCli.status, certsCli.stderr).toBe(0);
    copyFileSync(path.join(infraDir, 'config', 'demo.yaml'), path.join(dir, 'config.yaml'));
    const result = spawnSync(
      process.execPath,
      [path.join(repoRoot, 'apps/validate-config/dist/main.js'), path.join(dir, 'config.yaml')],
      { encoding: 'utf8' },
    );
    expect(result.stdout + result.stderr).toMatch(/^ok$/m);
    expect(result.status).toBe(0);
  });

  it("the simulator starts with the demo's population file", async () => {
    // The same file, on loopback and free ports (the container listens on 0.0.0.0:4243-4244).
    const file = path.join(tempDir('demo-sim'), 'qps-sim.yaml');
    const local = {
      ...simConfig,
      servers: simConfig.servers.map((s) => ({ ...s, listen: '127.0.0.1', port: 0 })),
    };
    writeFileSync(file, JSON.stringify(local));
    const simulator = await startSimulator(await testCertificates('infra-demo'), ['--config', file]);
    const state = await simulator.state();
    expect(state.servers.map((s) => [s.name, s.proxies.map((p) => p.prefix)])).toEqual(
      simConfig.servers.map((s) => [s.name, s.virtualProxies.map((p) => p.prefix)]),
    );
    await simulator.stop();
  });
});
