import type { PollFailure, PollResult } from '@qsm/model';
import { describe, expect, it } from 'vitest';
import { QUEUE, type SinkJobSpec } from './catalog.js';
import { GROUP_JOB_ID_PREFIX, groupedMemberIds, groupInfluxJobs } from './result-groups.js';

const identity = {
  v: 1 as const,
  serverName: 'sense1',
  serverDescription: 'd',
  hostName: 'sense1',
  serverTags: {},
  qpsHost: 'sense1:4243',
};

function result(virtualProxy: string, sessions: number): PollResult {
  return {
    ...identity,
    kind: 'sessions',
    virtualProxy,
    polledAt: 1,
    durationMs: 1,
    sessions: Array.from({ length: sessions }, (_, i) => ({
      UserDirectory: 'D',
      UserId: `u${i}`,
      SessionId: `s${i}`,
    })),
  };
}

const failure: PollFailure = {
  ...identity,
  kind: 'error',
  virtualProxy: '/x',
  failedAt: 1,
  category: 'timeout',
  message: 'timed out',
  url: 'https://sense1:4243/qps/session',
  attempt: 1,
};

const influx = (id: string, data: PollResult | PollFailure): SinkJobSpec => ({
  queue: QUEUE.influx,
  id,
  data,
});
const mqtt = (id: string, data: PollResult): SinkJobSpec => ({ queue: QUEUE.mqtt, id, data });

describe('grouping the InfluxDB records of one delivery', () => {
  it('puts the records of polls delivered together into one job, each member keeping its own id', () => {
    const jobs = groupInfluxJobs([
      influx('a', result('/a', 2)),
      influx('b', result('/b', 3)),
      influx('e', failure),
    ]);
    expect(jobs).toHaveLength(1);
    const [group] = jobs;
    expect(group!.id.startsWith(GROUP_JOB_ID_PREFIX)).toBe(true);
    expect(group!.data).toMatchObject({ v: 1, kind: 'group' });
    expect(group!.data.kind === 'group' && group!.data.members.map((m) => m.id)).toEqual(['a', 'b', 'e']);
    expect(groupedMemberIds(jobs)).toEqual(['a', 'b', 'e']);
  });

  it('leaves a lone record as a plain job with the id derived from its poll', () => {
    const lone = influx('a', result('/a', 2));
    const jobs = groupInfluxJobs([lone, mqtt('a', result('/a', 2))]);
    expect(jobs).toHaveLength(2);
    expect(jobs).toContainEqual(lone);
    expect(groupedMemberIds([lone])).toEqual([]);
  });

  it('leaves MQTT jobs alone: each is its own message', () => {
    const jobs = groupInfluxJobs([mqtt('a', result('/a', 1)), mqtt('b', result('/b', 1))]);
    expect(jobs.map((j) => j.id)).toEqual(['a', 'b']);
  });

  it('leaves track jobs and session events alone, and groups the poll records around them', () => {
    const { sessions: _sessions, kind: _kind, ...fields } = result('/a', 0);
    const track: SinkJobSpec = {
      queue: QUEUE.track,
      id: 'a',
      data: { ...fields, kind: 'track_result', intervalStart: 0, intervalMs: 1000, sessions: [] },
    };
    const events: SinkJobSpec = {
      queue: QUEUE.influx,
      id: 'a|events',
      data: {
        ...identity,
        kind: 'session_events',
        virtualProxy: '/a',
        time: 1,
        pollIntervalMs: 1000,
        events: [
          {
            event: 'start',
            sessionId: 's',
            userDirectory: 'D',
            userId: 'u',
            firstSeen: 1,
            lastSeen: 1,
            startKnown: true,
          },
        ],
      },
    };
    const jobs = groupInfluxJobs([influx('a', result('/a', 1)), track, events, influx('b', result('/b', 1))]);
    expect(jobs).toContainEqual(track);
    expect(jobs).toContainEqual(events);
    expect(jobs).toHaveLength(3);
    expect(groupedMemberIds(jobs)).toEqual(['a', 'b']);
  });

  it('closes a group at the member and session limits, and sends a large result alone', () => {
    const many = Array.from({ length: 7 }, (_, i) => influx(`r${i}`, result(`/${i}`, 1)));
    const bySize = groupInfluxJobs(many, { maxMembers: 3, maxSessions: 100 });
    expect(bySize.map((j) => (j.data.kind === 'group' ? j.data.members.length : 1))).toEqual([3, 3, 1]);

    const sessions = groupInfluxJobs(
      [
        influx('a', result('/a', 60)),
        influx('b', result('/b', 60)),
        influx('big', result('/big', 100)),
        influx('c', result('/c', 30)),
      ],
      { maxMembers: 50, maxSessions: 100 },
    );
    expect(sessions.map((j) => (j.id.startsWith(GROUP_JOB_ID_PREFIX) ? 'group' : j.id))).toEqual([
      'a',
      'big',
      'group',
    ]);
  });

  it('keeps a job id that occurs twice in one delivery once, as BullMQ would', () => {
    const jobs = groupInfluxJobs([
      influx('a', result('/a', 1)),
      influx('a', result('/a', 1)),
      influx('b', result('/b', 1)),
    ]);
    expect(groupedMemberIds(jobs)).toEqual(['a', 'b']);
  });

  it('gives every group an id of its own', () => {
    const pair = () => groupInfluxJobs([influx('a', result('/a', 1)), influx('b', result('/b', 1))])[0]!.id;
    expect(pair()).not.toBe(pair());
  });
});
