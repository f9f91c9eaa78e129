import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { CertificateSet } from '@qsm/dev-certs';
import {
  cleanupRedisPrefix,
  dropInfluxDatabase,
  influxQuery,
  type RunningApp,
  repoRoot,
  rows,
  type Simulator,
  startApp,
  startSimulator,
  stopAll,
  tempDir,
  testCertificates,
  uniqueName,
  waitUntil,
  writeButlerConfig,
} from '@qsm/testkit';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/* Bull Board in a real headless Chromium, after the pipeline ran against the simulator. */

const prefix = uniqueName('board');
const db = uniqueName('qsm_board');
const credentials = { username: 'operator', password: 'board-S3cret!' };
const artifacts = path.join(repoRoot, 'test-artifacts');
let certs: CertificateSet;
let sim: Simulator;
let board: RunningApp;
let boardUrl: string;
let browser: Browser;
let configFile: string;

async function startBoard(env: Record<string, string>, name: string) {
  const app = await startApp('board', {
    configFile,
    prefix,
    name,
    env: { BOARD_HOST: '127.0.0.1', BOARD_PORT: '0', ...env },
  });
  const line = await app.waitForLine((l) => l.includes('Bull Board listening'));
  return { app, url: (JSON.parse(line) as { url: string }).url.replace(/\/$/, '') };
}

beforeAll(async () => {
  certs = await testCertificates('board');
  sim = await startSimulator(certs, [
    '--servers',
    '1',
    '--prefixes',
    '/,/hdr,/denied',
    '--sessions',
    '3',
    '--churn',
    '0',
    '--repository',
  ]);
  await sim.setFault('sense1', '/denied', { mode: 'status', status: 403 });
  // Discovery reads a repository that answers nonsense: its failed reads are for the board to show.
  await sim.setRepositoryFault({ mode: 'object', endpoint: 'proxyservice' });
  configFile = writeButlerConfig(tempDir('board'), {
    certs,
    pollingInterval: 1000,
    servers: [
      { serverName: 'sense1', qpsHost: sim.qpsHost('sense1'), virtualProxies: ['/', '/hdr', '/denied'] },
    ],
    influx: { db },
  });
  await startApp('influx-sink', { configFile, prefix });
  await startApp('poller', { configFile, prefix });
  await startApp('scheduler', {
    configFile,
    prefix,
    env: { DISCOVERY_ENABLE: 'true', QRS_HOST: sim.repository, DISCOVERY_INTERVAL_MS: '1000' },
  });
  await waitUntil(
    async () =>
      Number(
        rows(await influxQuery(db, 'SELECT count(session_count) FROM user_session_summary'))[0]?.count ?? 0,
      ) >= 4,
    'a few results in InfluxDB',
    { timeoutMs: 20_000 },
  );
  ({ app: board, url: boardUrl } = await startBoard(
    { BOARD_USERNAME: credentials.username, BOARD_PASSWORD: credentials.password },
    'board',
  ));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  mkdirSync(artifacts, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await stopAll();
  await cleanupRedisPrefix(prefix);
  await dropInfluxDatabase(db);
});

describe('Bull Board', () => {
  it('answers 401 without credentials, pages and API alike', async () => {
    const page = await browser.newPage();
    // Headless Chromium cannot show the login prompt and fails the navigation instead.
    await expect(page.goto(`${boardUrl}/`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
    const response = await page.request.get(`${boardUrl}/`);
    expect(response.status()).toBe(401);
    expect(response.headers()['www-authenticate']).toMatch(/^Basic/);
    for (const route of ['/api/queues', '/api/queues/poll/retry/failed']) {
      expect((await fetch(`${boardUrl}${route}`)).status).toBe(401);
    }
    const wrong = Buffer.from(`${credentials.username}:wrong`).toString('base64');
    expect(
      (await fetch(`${boardUrl}/api/queues`, { headers: { authorization: `Basic ${wrong}` } })).status,
    ).toBe(401);
    await page.close();
  });

  it('shows every queue and the completed jobs once logged in', async () => {
    const context = await browser.newContext({
      httpCredentials: credentials,
      viewport: { width: 1400, height: 900 },
    });
    const page = await context.newPage();
    await page.goto(`${boardUrl}/`);
    for (const queue of ['poll', 'sink-influx', 'sink-mqtt', 'discovery', 'session-track']) {
      await expect
        .poll(() => page.getByText(queue, { exact: true }).count(), { timeout: 15_000 })
        .toBeGreaterThan(0);
    }
    // The overview's counts load after the queue list: wait for them, so the screenshot shows them.
    await expect.poll(() => page.getByText(/Loading/).count(), { timeout: 15_000 }).toBe(0);
    await page.screenshot({ path: path.join(artifacts, 'board-overview.png'), fullPage: true });
    await page.goto(`${boardUrl}/queue/sink-influx?status=completed`);
    // A poll's result alone, or the results of polls that finished together as one group.
    await expect
      .poll(() => page.getByText(/^poll-(result|records \(\d+\))$/).count(), { timeout: 15_000 })
      .toBeGreaterThan(0);
    await page.screenshot({ path: path.join(artifacts, 'board-completed.png'), fullPage: true });
    await context.close();
  });

  it('shows failed polls with their classified error', async () => {
    const context = await browser.newContext({
      httpCredentials: credentials,
      viewport: { width: 1400, height: 900 },
    });
    const page = await context.newPage();
    await page.goto(`${boardUrl}/queue/poll?status=failed`);
    await expect
      .poll(() => page.getByText(/auth_error: QPS refused the request \(403\)/).count(), { timeout: 15_000 })
      .toBeGreaterThan(0);
    await page.screenshot({ path: path.join(artifacts, 'board-failed.png'), fullPage: true });
    await context.close();
  });

  it('shows failed reads of the Qlik repository with their error', async () => {
    const context = await browser.newContext({
      httpCredentials: credentials,
      viewport: { width: 1400, height: 900 },
    });
    const page = await context.newPage();
    await page.goto(`${boardUrl}/queue/discovery?status=failed`);
    await expect
      .poll(() => page.getByText(/invalid_response: Qlik repository https:\/\/.*proxyservice/).count(), {
        timeout: 15_000,
      })
      .toBeGreaterThan(0);
    await page.screenshot({ path: path.join(artifacts, 'board-discovery-failed.png'), fullPage: true });
    await context.close();
  });

  it('refuses changes in read-only mode', async () => {
    const readOnly = await startBoard(
      { BOARD_USERNAME: credentials.username, BOARD_PASSWORD: credentials.password, BOARD_READ_ONLY: 'true' },
      'board-read-only',
    );
    const auth = {
      authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`,
    };
    expect((await fetch(`${readOnly.url}/api/queues`, { headers: auth })).status).toBe(200);
    const retry = await fetch(`${readOnly.url}/api/queues/poll/retry/failed`, {
      method: 'PUT',
      headers: auth,
    });
    expect(retry.status).toBe(405);
    await readOnly.app.stop();
  });

  it('refuses to start without credentials unless told to run open on localhost', async () => {
    const refused = await startApp('board', {
      configFile,
      prefix,
      name: 'board-no-login',
      env: { BOARD_PORT: '0' },
    }).catch((e: Error) => e);
    expect(refused).toBeInstanceOf(Error);
    // A settings problem like any other: its variable and the fix, no stack.
    expect((refused as Error).message).toContain(
      'env.BOARD_PASSWORD: the board needs a login: set BOARD_USERNAME and BOARD_PASSWORD',
    );
    expect((refused as Error).message).not.toMatch(/\n\s+at /);
    const openWide = await startApp('board', {
      configFile,
      prefix,
      name: 'board-open-wide',
      env: { BOARD_PORT: '0', BOARD_ALLOW_OPEN: 'true', BOARD_HOST: '0.0.0.0' },
    }).catch((e: Error) => e);
    expect((openWide as Error).message).toContain(
      'env.BOARD_ALLOW_OPEN: only works with BOARD_HOST on this machine',
    );
    const open = await startBoard({ BOARD_ALLOW_OPEN: 'true' }, 'board-open');
    expect((await fetch(`${open.url}/api/queues`)).status).toBe(200);
    await open.app.stop();
    expect(board.child.exitCode).toBeNull();
  });
});
