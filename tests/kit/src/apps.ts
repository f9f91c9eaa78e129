import { type RunningProcess, startProcess } from '@qsm/child-process';
import { appMain } from './paths.js';
import { services } from './services.js';

export type AppName =
  | 'scheduler'
  | 'poller'
  | 'tracker'
  | 'influx-sink'
  | 'mqtt-sink'
  | 'all-in-one'
  | 'board';

export interface RunningApp extends RunningProcess {
  /** Port of /healthz, /readyz and /metrics. */
  httpPort: number;
  metrics(): Promise<string>;
  ready(): Promise<{ status: number; body: Record<string, string> }>;
}

/** Node flags an app is started with, as the README and infra/docker-compose.yml start it. */
const NODE_FLAGS: Partial<Record<AppName, string[]>> = { poller: ['--max-semi-space-size=8'] };

/**
 * Starts `node apps/<app>/dist/main.js` with the config file and queue prefix of a test, as an
 * operator would, and waits for its "started" line.
 */
export async function startApp(
  app: AppName,
  options: {
    configFile: string;
    prefix: string;
    env?: NodeJS.ProcessEnv;
    name?: string;
    /** How long to wait for its "started" line (a scheduler with 10,000 proxies reconciles first). */
    startTimeoutMs?: number;
  },
): Promise<RunningApp> {
  // QSM_APP_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles every app a test or the bench starts.
  const nodeArgs = [
    ...(NODE_FLAGS[app] ?? []),
    ...(process.env.QSM_APP_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
  ];
  const proc = startProcess(options.name ?? app, process.execPath, [...nodeArgs, appMain(app)], {
    env: {
      CONFIG_FILE: options.configFile,
      QUEUE_PREFIX: options.prefix,
      REDIS_URL: services.redisUrl,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      ...options.env,
    },
  });
  const line = await proc.waitForLine(
    (l) => l.includes(`"msg":"${app} started"`) && l.includes(`"httpPort":`),
    options.startTimeoutMs ?? 20_000,
  );
  const httpPort = Number((JSON.parse(line) as { httpPort: number }).httpPort);
  const base = `http://127.0.0.1:${httpPort}`;
  return Object.assign(proc, {
    httpPort,
    metrics: async () => (await fetch(`${base}/metrics`)).text(),
    ready: async () => {
      const res = await fetch(`${base}/readyz`);
      return { status: res.status, body: (await res.json()) as Record<string, string> };
    },
  });
}

export { metricValue } from '@qsm/prometheus-text';
