import { describe, expect, it } from 'vitest';
import { describePlan, desiredSchedulers, interleaveServers, planSchedulers } from './scheduler-plan.js';
import { schedulerIdFor } from './target-ids.js';

const targets = [
  { serverName: 'sense1', virtualProxy: '/' },
  { serverName: 'sense1', virtualProxy: '/hdr' },
  { serverName: 'sense2', virtualProxy: '/sales' },
];
const existingFrom = (list: ReturnType<typeof desiredSchedulers>) =>
  list.map((d) => ({ key: d.id, every: d.every, offset: d.offset, template: { data: d.data } }));

describe('reconciling job schedulers with the config', () => {
  it('adds a scheduler for every (server, virtual proxy) when Redis has none', () => {
    const plan = planSchedulers(desiredSchedulers(targets, 30000), []);
    expect(plan.add.map((s) => s.id).sort()).toEqual(targets.map(schedulerIdFor).sort());
    expect(plan.add.find((s) => s.id === 'poll|sense1|%2Fhdr')).toEqual({
      id: 'poll|sense1|%2Fhdr',
      every: 30000,
      offset: 1,
      data: {
        v: 1,
        serverName: 'sense1',
        virtualProxy: '/hdr',
        intervalMs: 30000,
        kind: 'scheduled',
        offsetMs: 1,
      },
    });
    expect(plan).toMatchObject({ change: [], remove: [], unchanged: 0 });
  });

  it("carries a discovered target's identity in its template and reads it back unchanged", () => {
    const discovered = {
      serverName: 'central',
      virtualProxy: '/finance',
      discovered: {
        serverDescription: '',
        hostName: 'sense1.corp.example',
        serverTags: { env: 'prod' },
        qpsHost: 'sense1.corp.example:4243',
        node: 'central',
        sessionInactivityTimeoutMinutes: 60,
      },
    };
    const desired = desiredSchedulers([...targets, discovered], 30000);
    const scheduler = desired.find((d) => d.id === 'poll|central|%2Ffinance');
    expect(scheduler?.data.discovered).toEqual(discovered.discovered);
    expect(desired.find((d) => d.id === 'poll|sense1|%2F')?.data).not.toHaveProperty('discovered');
    // What Redis holds is JSON: the plan must see no change in it.
    const stored = JSON.parse(JSON.stringify(existingFrom(desired)));
    expect(planSchedulers(desired, stored).unchanged).toBe(4);
    const retagged = desiredSchedulers(
      [...targets, { ...discovered, discovered: { ...discovered.discovered, serverTags: { env: 'test' } } }],
      30000,
    );
    expect(planSchedulers(retagged, stored).change.map((s) => s.id)).toEqual(['poll|central|%2Ffinance']);
  });

  it('does nothing when Redis matches the config', () => {
    const desired = desiredSchedulers(targets, 30000);
    expect(planSchedulers(desired, existingFrom(desired))).toEqual({
      add: [],
      change: [],
      move: [],
      repair: [],
      remove: [],
      unchanged: 3,
    });
  });

  it('sets up again a scheduler whose next poll was lost, and only that one', () => {
    const desired = desiredSchedulers(targets, 30000);
    const existing = existingFrom(desired).map((s) => ({ ...s, stuck: s.key === 'poll|sense1|%2Fhdr' }));
    const plan = planSchedulers(desired, existing);
    expect(plan.repair.map((s) => s.id)).toEqual(['poll|sense1|%2Fhdr']);
    expect(plan).toMatchObject({ add: [], change: [], remove: [], unchanged: 2 });
    expect(describePlan(plan)).toBe('0 added, 0 changed, 0 removed, 1 repaired (sense1/hdr), 2 unchanged');
  });

  it('changes a stuck scheduler whose settings changed too (once, as a change)', () => {
    const existing = existingFrom(desiredSchedulers(targets, 30000)).map((s) => ({ ...s, stuck: true }));
    const plan = planSchedulers(desiredSchedulers(targets, 10000), existing);
    expect(plan.change).toHaveLength(3);
    expect(plan.repair).toEqual([]);
  });

  it('changes every scheduler when the polling interval changes', () => {
    const plan = planSchedulers(
      desiredSchedulers(targets, 10000),
      existingFrom(desiredSchedulers(targets, 30000)),
    );
    expect(plan.change).toHaveLength(3);
    expect(plan.change[0]?.every).toBe(10000);
  });

  it('moves the schedulers whose phase changes, and only those', () => {
    const plan = planSchedulers(
      desiredSchedulers(targets, 30000, 10000),
      existingFrom(desiredSchedulers(targets, 30000)),
    );
    expect(plan.move.map((s) => s.id).sort()).toEqual(targets.map(schedulerIdFor).sort());
    expect(plan.change).toEqual([]);
    expect(describePlan(plan)).toMatch(/^0 added, 3 changed \(/);
  });

  it('compares job data by value, whatever the order of its fields in Redis', () => {
    const desired = desiredSchedulers(targets, 30000);
    const reordered = existingFrom(desired).map((s) => ({
      ...s,
      template: { data: Object.fromEntries(Object.entries(s.template.data).reverse()) },
    }));
    expect(planSchedulers(desired, reordered).unchanged).toBe(3);
    const older = existingFrom(desired).map((s) => {
      const { kind: _kind, offsetMs: _offset, ...fields } = s.template.data;
      return { ...s, template: { data: fields } };
    });
    expect(planSchedulers(desired, older).change).toHaveLength(3);
  });

  it('removes schedulers of virtual proxies that left the config', () => {
    const plan = planSchedulers(
      desiredSchedulers(targets.slice(0, 2), 30000),
      existingFrom(desiredSchedulers(targets, 30000)),
    );
    expect(plan.remove).toEqual(['poll|sense2|%2Fsales']);
    expect(plan.unchanged).toBe(2);
  });

  it('names the first ten proxies of each kind in the log line, and counts the rest', () => {
    const many = Array.from({ length: 25 }, (_, i) => ({ serverName: 'big', virtualProxy: `/vp${i}` }));
    const added = planSchedulers(desiredSchedulers(many, 30000), []);
    const first = many.slice(0, 10).map((t) => `big${t.virtualProxy}`);
    expect(describePlan(added)).toBe(
      `25 added (${first.join(', ')} and 15 more), 0 changed, 0 removed, 0 unchanged`,
    );
    const removed = planSchedulers([], existingFrom(desiredSchedulers(many.slice(0, 10), 30000)));
    expect(describePlan(removed)).toBe(`0 added, 0 changed, 10 removed (${first.join(', ')}), 0 unchanged`);
  });

  it('leaves schedulers it did not make alone', () => {
    const plan = planSchedulers([], [{ key: 'nightly-report', every: 1000 }]);
    expect(plan.remove).toEqual([]);
  });

  it('spreads the targets over part of the interval, the same way every time, when asked', () => {
    const many = Array.from({ length: 200 }, (_, i) => ({
      serverName: `s${i % 4}`,
      virtualProxy: `/vp${i}`,
    }));
    const spread = desiredSchedulers(many, 30000, 10000);
    const offsets = spread.map((s) => s.offset);
    expect(Math.min(...offsets)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...offsets)).toBeLessThanOrEqual(10000);
    expect(new Set(offsets).size).toBeGreaterThan(150);
    expect(desiredSchedulers(many, 30000, 10000)).toEqual(spread);
    expect(new Set(desiredSchedulers(many, 30000).map((s) => s.offset))).toEqual(new Set([1]));
  });

  it('keeps names with unusual characters apart and free of colons', () => {
    const id = schedulerIdFor({ serverName: 'a|b:c', virtualProxy: '/x:y' });
    expect(id).not.toContain(':');
    expect(id.split('|')).toHaveLength(3);
  });
});

describe('the order in which schedulers are added', () => {
  it('takes the servers in turn, so that polls due together keep every server busy', () => {
    const config = [
      ...['/', '/a', '/b', '/c'].map((virtualProxy) => ({ serverName: 'big', virtualProxy })),
      { serverName: 'small', virtualProxy: '/' },
      ...['/', '/x'].map((virtualProxy) => ({ serverName: 'mid', virtualProxy })),
    ];
    expect(interleaveServers(config).map((t) => `${t.serverName}${t.virtualProxy}`)).toEqual([
      'big/',
      'small/',
      'mid/',
      'big/a',
      'mid/x',
      'big/b',
      'big/c',
    ]);
    expect(desiredSchedulers(config, 30000).map((s) => s.id)).toEqual(
      interleaveServers(config).map(schedulerIdFor),
    );
  });

  it('keeps every target exactly once', () => {
    expect(interleaveServers([])).toEqual([]);
    const many = Array.from({ length: 50 }, (_, i) => ({ serverName: `s${i % 7}`, virtualProxy: `/vp${i}` }));
    expect(new Set(interleaveServers(many))).toEqual(new Set(many));
    expect(interleaveServers(many)).toHaveLength(50);
  });
});
