import { buildSessionPoints, toLineProtocol } from '@qsm/influx';
import { influxSinkJobSchema } from '@qsm/queues';

const r = {
  v: 1,
  kind: 'sessions',
  serverName: 'sense1',
  serverDescription: 'desc',
  hostName: '127.0.0.1',
  serverTags: { a: 'b' },
  qpsHost: '127.0.0.1:4243',
  virtualProxy: '/vp1',
  polledAt: Date.now(),
  durationMs: 3,
  sessions: Array.from({ length: 10 }, (_, i) => ({
    UserDirectory: 'LAB',
    UserId: 'user' + i,
    Attributes: [{ Group: 'Sales' }],
    SessionId: 'a3b2c1d0-1234-4abc-8def-0123456789ab' + i,
  })),
};
const time = (label, n, fn) => {
  for (let i = 0; i < 200; i++) fn();
  const t = performance.now();
  for (let i = 0; i < n; i++) fn();
  console.log(label, (((performance.now() - t) / n) * 1000).toFixed(1), 'µs');
};
time('zod parse PollResult (10 sessions)', 5000, () => influxSinkJobSchema.parse(r));
time('points + line protocol (12 points)', 5000, () =>
  toLineProtocol(buildSessionPoints(r, { version: 1, excludeUser: [] })),
);
time('JSON stringify+parse result', 5000, () => JSON.parse(JSON.stringify(r)));
time('JSON pretty payload', 5000, () => JSON.stringify(r.sessions, null, 2));
