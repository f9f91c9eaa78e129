import { describe, expect, it } from 'vitest';
import { evictionWarning, parseMemoryPolicy } from './eviction.js';

const info = (maxmemory: string, policy: string) =>
  `# Memory\r\nused_memory:1048576\r\nmaxmemory:${maxmemory}\r\nmaxmemory_human:0B\r\nmaxmemory_policy:${policy}\r\n`;

describe('parseMemoryPolicy', () => {
  it('reads maxmemory and maxmemory_policy from an INFO memory answer', () => {
    expect(parseMemoryPolicy(info('67108864', 'allkeys-lru'))).toEqual({
      maxmemoryBytes: 67108864,
      policy: 'allkeys-lru',
    });
  });

  it('gives undefined when the answer lacks either field', () => {
    expect(parseMemoryPolicy('# Memory\r\nused_memory:1\r\n')).toBeUndefined();
    expect(parseMemoryPolicy('maxmemory_policy:noeviction\r\n')).toBeUndefined();
  });
});

describe('evictionWarning', () => {
  it('says nothing when Redis never evicts', () => {
    expect(evictionWarning({ maxmemoryBytes: 0, policy: 'noeviction' })).toBeUndefined();
    expect(evictionWarning({ maxmemoryBytes: 1 << 30, policy: 'noeviction' })).toBeUndefined();
  });

  it('names the policy, the limit and the fix when Redis evicts once full', () => {
    const warning = evictionWarning({ maxmemoryBytes: 64 * 1024 * 1024, policy: 'volatile-lru' });
    expect(warning).toMatch(/maxmemory-policy volatile-lru and maxmemory is 64 MB/);
    expect(warning).toMatch(/Set maxmemory-policy noeviction/);
  });

  it('warns even without a limit, since setting one later starts the evictions', () => {
    expect(evictionWarning({ maxmemoryBytes: 0, policy: 'allkeys-lru' })).toMatch(/maxmemory is not set yet/);
  });
});
