import { describe, expect, it } from 'vitest';
import { QueueShardConflict, queueShardDecision } from './queue-shard-record.js';

describe('the queue shard recorded under a prefix', () => {
  it('lets the same shard work there, and no other', () => {
    expect(queueShardDecision('1/2', '1/2')).toEqual({ ok: true });
    expect(queueShardDecision('all', 'all')).toEqual({ ok: true });
    expect(queueShardDecision('1/2', '2/2')).toEqual({ ok: false, recorded: '1/2' });
    expect(queueShardDecision('all', '1/2')).toEqual({ ok: false, recorded: 'all' });
    expect(queueShardDecision('1/2', 'all')).toEqual({ ok: false, recorded: '1/2' });
    expect(queueShardDecision('1/2', '1/3')).toEqual({ ok: false, recorded: '1/2' });
    expect(queueShardDecision(null, '1/2')).toEqual({ ok: true });
  });

  it('says both shards, the prefix and how to fix it', () => {
    expect(new QueueShardConflict('{qsm}', '2/2', '1/2').message).toBe(
      'QUEUE_SHARD=2/2 but queue prefix {qsm} belongs to shard 1/2 ({qsm}:qsm:shard): give each shard its own ' +
        'QUEUE_PREFIX, or, when re-sharding on purpose, stop the schedulers of {qsm} and delete {qsm}:qsm:shard ' +
        "(or all of {qsm}'s keys)",
    );
  });
});
