import { describe, expect, it } from 'vitest';
import { HOSTILE_USER_IDS } from './identities.js';
import { createProxyPopulation } from './population.js';
import { resolveProxy, simConfigSchema } from './sim-config.js';

const proxy = (overrides: Record<string, unknown> = {}) =>
  resolveProxy(simConfigSchema.parse({ servers: [{ name: 's', virtualProxies: [{ prefix: '/' }] }] }), {
    prefix: '/hdr',
    sessions: 30,
    users: 10,
    churnRate: 0.2,
    ...overrides,
  });

describe('a simulated proxy population', () => {
  it('is reproducible: the same seed gives the same sessions after the same churn steps', () => {
    const a = createProxyPopulation(7, 'sense1', proxy());
    const b = createProxyPopulation(7, 'sense1', proxy());
    for (let i = 0; i < 5; i++) {
      a.step();
      b.step();
    }
    expect(a.sessions()).toEqual(b.sessions());
    expect(a.body()).toBe(b.body());
  });

  it('differs between seeds, servers and proxies', () => {
    const base = createProxyPopulation(7, 'sense1', proxy()).sessions();
    expect(createProxyPopulation(8, 'sense1', proxy()).sessions()).not.toEqual(base);
    expect(createProxyPopulation(7, 'sense2', proxy()).sessions()).not.toEqual(base);
  });

  it('churns: sessions end and new ones start at every step', () => {
    const population = createProxyPopulation(1, 'sense1', proxy());
    const before = new Set(population.sessions().map((s) => s.SessionId));
    population.step();
    const after = population.sessions().map((s) => s.SessionId);
    expect(after.some((id) => !before.has(id))).toBe(true);
    expect(after.filter((id) => before.has(id)).length).toBeGreaterThan(0);
  });

  it('gives users several sessions when there are fewer users than sessions', () => {
    const sessions = createProxyPopulation(1, 'sense1', proxy({ sessions: 40, users: 5 })).sessions();
    const users = new Set(sessions.map((s) => `${s.UserDirectory}\\${s.UserId}`));
    expect(users.size).toBeLessThanOrEqual(5);
    expect(new Set(sessions.map((s) => s.SessionId)).size).toBe(40);
  });

  it('mixes hostile user ids in when asked', () => {
    const sessions = createProxyPopulation(
      1,
      's',
      proxy({ sessions: 400, users: 40, hostile: true }),
    ).sessions();
    const ids = new Set(sessions.map((s) => s.UserId));
    const hostile = HOSTILE_USER_IDS.filter((id) => ids.has(id));
    expect(hostile.length).toBeGreaterThan(HOSTILE_USER_IDS.length / 2);
  });

  it('serves exactly the sessions a test sets, and stops churning them', () => {
    const population = createProxyPopulation(1, 's', proxy());
    const exact = [{ UserDirectory: 'LAB', UserId: 'a', Attributes: [], SessionId: '1' }];
    population.setSessions(exact);
    population.step();
    expect(JSON.parse(population.body())).toEqual(exact);
  });
});
