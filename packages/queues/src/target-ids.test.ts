import { describe, expect, it } from 'vitest';
import { failureJobId, resultJobId, schedulerIdFor, targetOfSchedulerId } from './target-ids.js';

describe('ids of a poll target', () => {
  const target = { serverName: 'sense:1', virtualProxy: '/hdr' };

  it('name its scheduler, results and error records without colons, and read back only its own', () => {
    expect(schedulerIdFor(target)).toBe('poll|sense%3A1|%2Fhdr');
    expect(resultJobId(target, 1000)).toBe('poll|sense%3A1|%2Fhdr|1000');
    expect(failureJobId(target, 1000, 2)).toBe('poll|sense%3A1|%2Fhdr|1000|error2');
    expect(targetOfSchedulerId('poll|sense%3A1|%2Fhdr')).toEqual(target);
    expect(targetOfSchedulerId('nightly')).toBeUndefined();
    expect(targetOfSchedulerId('poll|a|b|c')).toBeUndefined();
  });
});
