#!/usr/bin/env node
// The poller's HTTP cost: CPU (process.cpuUsage, user + system) that this process spends per QPS poll
// through the built client (`../dist`), against a QPS-like HTTPS server (mutual TLS) in a child process,
// so that only the client's side is counted. Cases: 0 and 100 sessions per answer, 1 and 4 polls at once.
//
//   pnpm --filter @qsm/qps build && node packages/qps/bench/cpu-per-poll.mjs [--polls 3000] [--runs 3]
//
// Each case is measured `--runs` times, cases interleaved; the line gives the median and every run.
// Run it on two checkouts to compare two clients: it loads `../dist/index.js`, or the build named by
// `--client <path>/index.js`.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    serve: { type: 'string' },
    polls: { type: 'string', default: '3000' },
    warmup: { type: 'string', default: '500' },
    runs: { type: 'string', default: '3' },
    certs: { type: 'string' },
    client: { type: 'string' },
  },
});

const session = (i) => ({
  UserDirectory: 'LAB',
  UserId: `user${i}`,
  Attributes: [{ email: `user${i}@lab.example` }, { group: 'Analysts' }],
  SessionId: `${String(i).padStart(8, '0')}-1111-4222-8333-444455556666`,
});

if (args.serve) await serve(args.serve);
else await measure();

/** Child mode: answers every request with the same session list of `--sessions` entries per path. */
async function serve(certsDir) {
  const bodies = new Map(
    [0, 100].map((n) => [n, JSON.stringify(Array.from({ length: n }, (_, i) => session(i)))]),
  );
  const server = createServer(
    {
      key: readFileSync(path.join(certsDir, 'server_key.pem')),
      cert: readFileSync(path.join(certsDir, 'server.pem')),
      ca: readFileSync(path.join(certsDir, 'root.pem')),
      requestCert: true,
      rejectUnauthorized: true,
      keepAliveTimeout: 60_000,
    },
    (req, res) => {
      // /qps/s100/session: the virtual proxy prefix says how many sessions to answer.
      const count = Number(/\/qps\/s(\d+)\//.exec(req.url ?? '')?.[1] ?? 0);
      const body = bodies.get(count) ?? '[]';
      res.writeHead(200, {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
      });
      res.end(body);
    },
  );
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

async function measure() {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const { createQpsClient } = await import(path.resolve(args.client ?? path.join(here, '../dist/index.js')));
  const { generateCertificateSet } = await import('@qsm/dev-certs');
  const certsDir = args.certs ?? path.join(tmpdir(), `qsm-bench-certs-${process.pid}`);
  const certs = await generateCertificateSet({ dir: certsDir, caName: 'QSM bench CA' });

  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', certs.dir], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (chunk) => resolve(Number(String(chunk).trim())));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });

  const client = createQpsClient({
    cert: {
      clientCert: certs.client,
      clientCertKey: certs.clientKey,
      clientCertCA: certs.root,
      clientCertPassphrase: null,
    },
    rejectUnauthorized: true,
    timeoutMs: 10_000,
    maxResponseBytes: 32 * 1024 * 1024,
    maxSocketsPerServer: 8,
  });
  const server = {
    serverName: 'bench',
    userSessions: { enable: true, host: `127.0.0.1:${port}`, virtualProxies: [] },
  };

  const poll = async (sessions, concurrency, count) => {
    let left = count;
    const worker = async () => {
      while (left > 0) {
        left--;
        const list = await client.fetchSessions(server, `/s${sessions}`);
        if (list.sessions.length !== sessions)
          throw new Error(`expected ${sessions} sessions, got ${list.sessions.length}`);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };

  const polls = Number(args.polls);
  const cases = [
    [0, 1],
    [0, 4],
    [100, 1],
    [100, 4],
  ];
  const results = new Map(cases.map((c) => [c.join('/'), []]));
  for (const [sessions, concurrency] of cases) await poll(sessions, concurrency, Number(args.warmup));
  for (let run = 0; run < Number(args.runs); run++) {
    for (const [sessions, concurrency] of cases) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      await poll(sessions, concurrency, polls);
      const used = process.cpuUsage(cpu);
      const wallMs = performance.now() - started;
      results.get(`${sessions}/${concurrency}`).push({ us: (used.user + used.system) / polls, wallMs });
    }
  }

  console.log(`node ${process.version}, ${polls} polls per run, µs CPU per poll (median; runs)`);
  for (const [sessions, concurrency] of cases) {
    const runs = results.get(`${sessions}/${concurrency}`);
    const us = runs.map((r) => r.us).sort((a, b) => a - b);
    const median = us[Math.floor(us.length / 2)];
    const rate = Math.round(
      polls / (runs.map((r) => r.wallMs).sort((a, b) => a - b)[Math.floor(runs.length / 2)] / 1000),
    );
    console.log(
      `sessions ${String(sessions).padStart(3)}  concurrency ${concurrency}  ${median.toFixed(0).padStart(5)} µs/poll  (${runs.map((r) => r.us.toFixed(0)).join(', ')})  ${rate} polls/s`,
    );
  }
  client.close();
  child.stdin.end();
  if (!args.certs) rmSync(certsDir, { recursive: true, force: true });
}
