#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunningProcess, startProcess } from '@qsm/child-process';
import { certificateSetPaths, generateCertificateSet, hasCertificateSet } from '@qsm/dev-certs';
import { redactUrl, redactUrlsInText } from '@qsm/net';
import { stringify } from 'yaml';
import { reachable, redisProblem, startWithServicesScript } from './services.js';
import { formatSummary, type Sample, totalsFrom } from './summary.js';

/*
 * `pnpm demo`: the QPS simulator with a lively population, the scheduler, two pollers, both sinks and
 * the board, against Redis, MQTT and InfluxDB at their local default addresses. Ctrl-C stops it all.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const env = process.env;
const demoDir = path.resolve(env.DEMO_DIR ?? path.join(repoRoot, '.demo'));
const redisUrl = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = env.QUEUE_PREFIX ?? 'qsm-demo';
const influxDb = env.DEMO_INFLUX_DB ?? 'qsm_demo';
const baseTopic = env.DEMO_BASE_TOPIC ?? 'qsm-demo/';
const interval = Number(env.DEMO_INTERVAL_MS ?? 5000);
/** polls/s of the live line is an average over this: several intervals, so that it does not swing with each burst. */
const RATE_WINDOW_MS = Math.max(60_000, 4 * interval);
const boardPort = env.BOARD_PORT ?? '3000';
const boardUser = env.BOARD_USERNAME ?? 'admin';
const boardPassword = env.BOARD_PASSWORD ?? randomBytes(9).toString('base64url');
const tty = process.stdout.isTTY;

const say = (line: string) => process.stdout.write(`${line}\n`);
/** What the demo itself has to tell but not on the terminal: into .demo/logs/demo.log. */
const demoLog = (line: string) =>
  appendFileSync(path.join(demoDir, 'logs', 'demo.log'), `${new Date().toISOString()} ${line}\n`);
interface DemoChild {
  name: string;
  proc: RunningProcess;
  httpPort?: number;
}
const children: DemoChild[] = [];

async function main() {
  mkdirSync(path.join(demoDir, 'logs'), { recursive: true });

  // Redis is required; MQTT and InfluxDB may come later (their sinks wait for them).
  if (await redisProblem(redisUrl)) {
    if (!env.REDIS_URL) startWithServicesScript(repoRoot, 'redis');
    const problem = await redisProblem(redisUrl);
    if (problem) {
      process.stderr.write(
        `Redis is not reachable at ${redactUrl(redisUrl)} (${redactUrlsInText(problem)}). Start one with "pnpm services" (Debian: installs and starts ` +
          `redis-server on 127.0.0.1:6379), or point REDIS_URL at yours.\n`,
      );
      process.exit(1);
    }
  }
  for (const [name, port] of [
    ['mosquitto', 1883],
    ['influxdb', 8086],
  ] as const) {
    if (await reachable({ host: '127.0.0.1', port })) continue;
    startWithServicesScript(repoRoot, name);
    if (!(await reachable({ host: '127.0.0.1', port }))) {
      say(
        `${name} is not reachable on 127.0.0.1:${port} (start it with "pnpm services"): its sink will wait for it`,
      );
    }
  }

  const certsDir = path.join(repoRoot, '.dev-certs');
  if (!hasCertificateSet(certsDir)) {
    await generateCertificateSet({ dir: certsDir });
    say(`generated development certificates in ${certsDir}`);
  }
  const certs = certificateSetPaths(certsDir);

  const sim = start('qps-sim', [
    path.join(repoRoot, 'apps/qps-sim/dist/main.js'),
    ...['--certs', certsDir, '--servers', '3', '--prefixes', '/,/sales,/finance', '--sessions', '12'],
    ...[
      '--users',
      '9',
      '--churn',
      '0.15',
      '--churn-interval',
      '3000',
      '--latency',
      '25',
      '--spread-addresses',
    ],
  ]);
  const listening = JSON.parse(await firstLine(sim, (l) => l.startsWith('{"event":"listening"'))) as {
    servers: Array<{ name: string; qpsHost: string; proxies: string[] }>;
  };

  const configFile = path.join(demoDir, 'config.yaml');
  writeFileSync(configFile, stringify(demoConfig(listening.servers, certs)));

  const appEnv = {
    CONFIG_FILE: configFile,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    LOG_FORMAT: 'json',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
  };
  const apps = [
    ['scheduler', 'scheduler'],
    ['poller', 'poller-1'],
    ['poller', 'poller-2'],
    ['tracker', 'tracker'],
    ['influx-sink', 'influx-sink'],
    ['mqtt-sink', 'mqtt-sink'],
  ] as const;
  for (const [app, name] of apps) start(name, [path.join(repoRoot, `apps/${app}/dist/main.js`)], appEnv);
  const board = start('board', [path.join(repoRoot, 'apps/board/dist/main.js')], {
    ...appEnv,
    BOARD_HOST: '127.0.0.1',
    BOARD_PORT: boardPort,
    BOARD_USERNAME: boardUser,
    BOARD_PASSWORD: boardPassword,
  });
  await Promise.all(
    children
      .filter((c) => c.name !== 'qps-sim')
      .map(async (c) => {
        const line = await firstLine(c, (l) => l.includes('"httpPort":') && l.includes(' started"'));
        c.httpPort = (JSON.parse(line) as { httpPort: number }).httpPort;
      }),
  );
  const boardLine = JSON.parse(await firstLine(board, (l) => l.includes('Bull Board listening'))) as {
    url: string;
  };

  say('');
  say('Qlik Session Monitor demo is running');
  say(`  Bull Board      ${boardLine.url}  (login ${boardUser} / ${boardPassword})`);
  say(
    `  InfluxDB        http://127.0.0.1:8086  database ${influxDb}  (user_session_summary, user_session_details, ...)`,
  );
  say(`  MQTT            mqtt://127.0.0.1:1883  topics ${baseTopic}<qps host>/usersession/<proxy>`);
  say(`                  e.g. mosquitto_sub -t '${baseTopic}#' -v`);
  say(`  QPS simulator   ${listening.servers.map((s) => `${s.name} ${s.qpsHost}`).join(', ')}`);
  say(`  Redis           ${redactUrl(redisUrl)}  queue prefix ${prefix}`);
  say(`  config, logs    ${configFile}, ${path.join(demoDir, 'logs')}`);
  say('Ctrl-C stops everything.');
  say('');
  say('demo running');
  await summaryLoop();
}

function demoConfig(
  servers: Array<{ name: string; qpsHost: string; proxies: string[] }>,
  certs: ReturnType<typeof certificateSetPaths>,
) {
  const groups = ['PROD', 'PROD', 'TEST'];
  return {
    'Butler-SOS': {
      userSessions: {
        enableSessionExtract: true,
        pollingInterval: interval,
        // The simulator's monitoring account: in MQTT, not in InfluxDB.
        excludeUser: [{ directory: 'LAB', userId: 'user0001' }],
      },
      serversToMonitor: {
        pollingInterval: 30000,
        rejectUnauthorized: true,
        serverTagsDefinition: ['server_group'],
        servers: servers.map((s, i) => ({
          host: `${s.qpsHost.split(':')[0]}:4747`,
          serverName: s.name,
          serverDescription: `Demo node ${i + 1}`,
          userSessions: {
            enable: true,
            host: s.qpsHost,
            virtualProxies: s.proxies.map((virtualProxy) => ({ virtualProxy })),
          },
          serverTags: { server_group: groups[i % groups.length] },
        })),
      },
      cert: {
        clientCert: certs.client,
        clientCertKey: certs.clientKey,
        clientCertCA: certs.root,
        clientCertPassphrase: '',
      },
      influxdbConfig: {
        enable: true,
        host: '127.0.0.1',
        port: 8086,
        version: 1,
        maxBatchSize: 1000,
        v1Config: {
          auth: { enable: false, username: '', password: '' },
          dbName: influxDb,
          retentionPolicy: { name: '7d', duration: '7d' },
        },
      },
      mqttConfig: { enable: true, brokerHost: '127.0.0.1', brokerPort: 1883, baseTopic },
    },
  };
}

function start(name: string, args: string[], extraEnv: Record<string, string> = {}): DemoChild {
  const logFile = path.join(demoDir, 'logs', `${name}.log`);
  // The first lines tell the ports; the rest is in the log file.
  const proc = startProcess(name, process.execPath, args, { env: extraEnv, logFile, keepLines: 200 });
  void proc.exited.then((code) => {
    if (!stopping) say(`${name} exited unexpectedly (${code}); see ${logFile}`);
  });
  const entry: DemoChild = { name, proc };
  children.push(entry);
  return entry;
}

function firstLine(
  entry: DemoChild,
  predicate: (line: string) => boolean,
  timeoutMs = 30_000,
): Promise<string> {
  return entry.proc.waitForLine(predicate, timeoutMs).catch(() => {
    throw new Error(
      `${entry.name} did not start in time; see ${path.join(demoDir, 'logs', `${entry.name}.log`)}`,
    );
  });
}

async function summaryLoop() {
  const metricsOf = async (name: string) => {
    const c = children.find((x) => x.name === name);
    if (!c?.httpPort) return undefined;
    // An app that does not answer (it is restarting, it exited) is left out of this line's figures.
    return fetch(`http://127.0.0.1:${c.httpPort}/metrics`)
      .then((r) => r.text())
      .catch((error: unknown) => {
        demoLog(`metrics of ${name} not read: ${(error as Error).message}`);
        return undefined;
      });
  };
  // The apps have just started: every poll counted from here on is part of the first lines' rate.
  const samples: Sample[] = [
    { at: Date.now(), totals: { polls: 0, failures: 0, sessions: 0, points: 0, messages: 0 } },
  ];
  let printed = 0;
  while (!stopping) {
    await new Promise((r) => setTimeout(r, 1000));
    const pollers = (await Promise.all(['poller-1', 'poller-2'].map(metricsOf))).filter(
      (t): t is string => !!t,
    );
    const totals = totalsFrom(pollers, await metricsOf('influx-sink'), await metricsOf('mqtt-sink'));
    samples.push({ at: Date.now(), totals });
    while (samples.length > 2 && samples[samples.length - 1]!.at - samples[1]!.at > RATE_WINDOW_MS) {
      samples.shift();
    }
    const line = formatSummary(samples, RATE_WINDOW_MS);
    if (stopping) break;
    if (tty) process.stdout.write(`\r\u001b[2K${line}`);
    else if (++printed % 5 === 0) say(line);
  }
}

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  if (tty) process.stdout.write('\n');
  say(`${signal}: stopping the demo...`);
  // Pollers and the scheduler first, then the tracker, then the sinks (so that what was polled is
  // delivered), then the rest.
  const groups = [
    ['scheduler', 'poller-1', 'poller-2'],
    ['tracker'],
    ['influx-sink', 'mqtt-sink'],
    ['board', 'qps-sim'],
  ];
  for (const group of groups) {
    await Promise.all(
      children.filter((c) => group.includes(c.name)).map((c) => c.proc.stop('SIGTERM', 12_000)),
    );
  }
  say('stopped');
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

main().catch(async (error: unknown) => {
  process.stderr.write(`demo failed: ${(error as Error).message}\n`);
  await stop('error');
  process.exit(1);
});
