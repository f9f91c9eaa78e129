import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import type { CertificateSet } from '@qsm/dev-certs';
import { buildSessionLines } from '@qsm/influx';
import type { PollResult } from '@qsm/model';
import { influxCommand } from '@qsm/testkit';

export interface BaselineTarget {
  serverName: string;
  qpsHost: string;
  virtualProxy: string;
}

/**
 * Polls like Butler SOS 15 does: one proxy after the other, a new https.Agent (a new TLS handshake) per
 * poll, the fixed Xrfkey, and one InfluxDB write per poll. Returns the seconds one cycle over all
 * targets took.
 */
export async function sequentialBaseline(
  targets: BaselineTarget[],
  certs: CertificateSet,
  influxUrl: string,
  db: string,
): Promise<{ seconds: number; polls: number; handshakes: number }> {
  const tls = {
    cert: readFileSync(certs.client),
    key: readFileSync(certs.clientKey),
    ca: readFileSync(certs.root),
    ...(certs.passphrase ? { passphrase: certs.passphrase } : {}),
  };
  await influxCommand(`CREATE DATABASE "${db}"`, influxUrl);
  const started = performance.now();
  let handshakes = 0;
  for (const target of targets) {
    const agent = new Agent({ ...tls, rejectUnauthorized: true, keepAlive: false });
    const vp = target.virtualProxy === '/' ? '' : target.virtualProxy;
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(
        `https://${target.qpsHost}/qps${vp}/session?Xrfkey=abcdefghij987654`,
        {
          agent,
          headers: { 'X-Qlik-Xrfkey': 'abcdefghij987654', 'Content-Type': 'application/json' },
          timeout: 5000,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.end();
    });
    handshakes++;
    agent.destroy();
    const result: PollResult = {
      v: 1,
      kind: 'sessions',
      serverName: target.serverName,
      serverDescription: target.serverName,
      hostName: target.qpsHost.split(':')[0]!,
      serverTags: {},
      qpsHost: target.qpsHost,
      virtualProxy: target.virtualProxy,
      polledAt: Date.now(),
      durationMs: 0,
      sessions: JSON.parse(body),
    };
    const lines = buildSessionLines(result, { version: 1, excludeUser: [] });
    const write = await fetch(`${influxUrl}/write?db=${db}&precision=ns`, {
      method: 'POST',
      body: lines.join('\n'),
    });
    if (write.status !== 204) throw new Error(`baseline write failed: ${write.status} ${await write.text()}`);
  }
  return { seconds: (performance.now() - started) / 1000, polls: targets.length, handshakes };
}
