import { buildSessionPoints, toLineProtocol } from '@qsm/influx';

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
  for (let i = 0; i < 500; i++) fn();
  const t = performance.now();
  for (let i = 0; i < n; i++) fn();
  console.log(label, (((performance.now() - t) / n) * 1000).toFixed(1), 'µs');
};
const pts = buildSessionPoints(r, { version: 1, excludeUser: [] });
time('build points', 5000, () => buildSessionPoints(r, { version: 1, excludeUser: [] }));
time('toLineProtocol', 5000, () => toLineProtocol(pts));
