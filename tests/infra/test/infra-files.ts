import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, tempDir } from '@qsm/testkit';
import { parse } from 'yaml';

/** Paths and parsed contents of the deployment files under infra/, shared by the infra tests. */
export const infraDir = path.join(repoRoot, 'infra');
export const composeFile = path.join(infraDir, 'docker-compose.yml');
export const dockerfile = path.join(infraDir, 'Dockerfile');
export const dashboardFile = path.join(infraDir, 'grafana', 'dashboards', 'qlik-sessions.json');
export const datasourceFile = path.join(infraDir, 'grafana', 'provisioning', 'datasources', 'influxdb.yaml');
export const dashboardProviderFile = path.join(
  infraDir,
  'grafana',
  'provisioning',
  'dashboards',
  'dashboards.yaml',
);

export const APPS = ['scheduler', 'poller', 'tracker', 'influx-sink', 'mqtt-sink', 'board'] as const;

export type Service = Record<string, unknown> & {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string | string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  profiles?: string[];
};

export interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  [key: string]: unknown;
}

export function readText(file: string): string {
  return readFileSync(file, 'utf8');
}

/** The compose file as compose reads it: YAML merge keys (`<<: *app`) resolved, variables not. */
export function readCompose(): ComposeFile {
  return parse(readText(composeFile), { merge: true }) as ComposeFile;
}

export function service(compose: ComposeFile, name: string): Service {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
}

/** `host:container[:mode]` of a short-syntax volume. */
export function splitVolume(spec: string): { source: string; target: string; mode: string | undefined } {
  // The source may contain `${VAR:-default}`, whose `:-` is not a separator.
  const parts = spec.replace(/\$\{[^}]*\}/g, (m) => m.replaceAll(':', '\u0000')).split(':');
  const [source = '', target = '', mode] = parts.map((p) => p.replaceAll('\u0000', ':'));
  return { source, target, mode };
}

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
  error?: Error;
}

/**
 * Runs `docker-compose <args>` in infra/ with only PATH, HOME and the variables in `env` (through an env file
 * of the test's own, so that neither the caller's environment nor an infra/.env changes the result).
 * Fails with a clear message when docker-compose is not installed: CI installs it.
 */
export function dockerCompose(args: string[], env: Record<string, string> = {}): CommandResult {
  const envFile = path.join(tempDir('compose-env'), 'test.env');
  writeFileSync(
    envFile,
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
  );
  const result = spawnSync('docker-compose', ['--env-file', envFile, '-f', composeFile, ...args], {
    cwd: infraDir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(
      'docker-compose is not installed: these tests validate infra/docker-compose.yml with it. Install it ' +
        '(bash scripts/services.sh tools, or on Debian apt-get install -y --no-install-recommends docker-compose) ' +
        'and run the tests again.',
    );
  }
  return {
    status: result.status,
    stdout: result.stdout ?? '',
    stderr: result.stderr ?? '',
    ...(result.error ? { error: result.error } : {}),
  };
}
