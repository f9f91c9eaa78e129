import { describe, expect, it } from 'vitest';
import { createTopicSequencer } from './topic-sequencer.js';

describe('the topic sequencer', () => {
  it('runs the snapshots of a topic oldest first, one at a time, whatever order they came in', async () => {
    const sequencer = createTopicSequencer(10);
    const order: number[] = [];
    let running = 0;
    const job = (t: number) => async () => {
      running++;
      expect(running).toBe(1);
      await new Promise((r) => setTimeout(r, 2));
      order.push(t);
      running--;
      return t;
    };
    const results = await Promise.all([5, 1, 4, 2, 3].map((t) => sequencer.submit('a', t, job(t))));
    expect(order).toEqual([1, 2, 3, 4, 5]);
    expect(results).toEqual([5, 1, 4, 2, 3]);
  });

  it('keeps topics independent, and one failure to its own job', async () => {
    const sequencer = createTopicSequencer(5);
    const outcomes = await Promise.allSettled([
      sequencer.submit('a', 1, async () => {
        throw new Error('broker gone');
      }),
      sequencer.submit('a', 2, async () => 'ok'),
      sequencer.submit('b', 1, async () => 'other topic'),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
  });
});
