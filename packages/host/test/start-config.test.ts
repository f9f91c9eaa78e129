import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { queueShardOf } from '@qsm/config';
import { describe, expect, it } from 'vitest';
import { createConfigReloader } from '../src/config-reload.js';
import type { RunningRole } from '../src/role.js';
import { loadStartConfig } from '../src/start-config.js';
import { captureLogger } from './capture-logger.js';

describe('the config at start', () => {
  it('is not looked for by an app that needs none', () => {
    const { logger, lines } = captureLogger();
    const config = loadStartConfig({ config: 'none', checkCertificates: false, logger, argv: [], env: {} });
    expect(config).toEqual({ kind: 'none' });
    expect(lines).toEqual([]);
  });

  it('refuses to start without a config file named, saying where to name it', () => {
    const { logger, lines } = captureLogger();
    const config = loadStartConfig({
      config: 'required',
      checkCertificates: false,
      logger,
      argv: [],
      env: {},
    });
    expect(config).toEqual({ kind: 'invalid' });
    expect(lines.at(-1)).toMatchObject({
      level: 60,
      msg: '1 config problem(s) in command line: not starting',
    });
    expect(lines.at(0)?.msg).toContain('CONFIG_FILE');
  });

  it('refuses to start with a file it cannot read, naming the file', () => {
    const { logger, lines } = captureLogger();
    const config = loadStartConfig({
      config: 'required',
      checkCertificates: false,
      logger,
      argv: ['--config', '/nonexistent/butler-sos.yaml'],
      env: { CONFIG_FILE: '/elsewhere.yaml' },
    });
    expect(config).toEqual({ kind: 'invalid' });
    expect(lines.at(0)).toMatchObject({ level: 50, source: '/nonexistent/butler-sos.yaml' });
    expect(lines.at(0)?.msg).toContain('cannot read the file');
  });
});

describe('a queue shard (QUEUE_SHARD)', () => {
  const names = ['sense1', 'sense2', 'sense3', 'sense4', 'sense5', 'sense6'];
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'qsm-shard-')), 'config.yaml');
  writeFileSync(
    file,
    [
      'Butler-SOS:',
      '  cert: { clientCert: client.pem, clientCertKey: client_key.pem, clientCertCA: root.pem }',
      '  serversToMonitor:',
      '    rejectUnauthorized: false',
      '    serverTagsDefinition: []',
      '    servers:',
      ...names.flatMap((name) => [
        `      - { host: "${name}:4747", serverName: ${name}, serverDescription: "",`,
        `          userSessions: { enable: true, host: "${name}:4243", virtualProxies: [{ virtualProxy: / }] } }`,
      ]),
    ].join('\n'),
  );
  const shard = { index: 2, count: 3 };
  const ofShard = names.filter((name) => queueShardOf(name, 3) === 2);

  it("gives the roles only the shard's servers at start", () => {
    const { logger } = captureLogger();
    const config = loadStartConfig({
      config: 'required',
      checkCertificates: false,
      queueShard: shard,
      logger,
      argv: ['--config', file],
    });
    if (config.kind !== 'loaded') throw new Error(`not loaded: ${config.kind}`);
    expect(ofShard.length).toBeGreaterThan(0);
    expect(config.settings.serversToMonitor.servers.map((s) => s.serverName)).toEqual(ofShard);
    expect(config.settings.queueShard?.allServers.map((s) => s.serverName)).toEqual(names);
  });

  it('and at each reload', async () => {
    const { logger } = captureLogger();
    const applied: string[][] = [];
    const role: RunningRole = {
      name: 'r',
      checks: async () => ({}),
      applySettings: async (settings) =>
        void applied.push(settings.serversToMonitor.servers.map((s) => s.serverName)),
      stop: async () => {},
    };
    const reloader = createConfigReloader({
      file,
      checkCertificates: false,
      queueShard: shard,
      logger,
      roles: () => [role],
    });
    await reloader.reload('SIGHUP');
    expect(applied).toEqual([ofShard]);
  });
});
