import { describe, expect, it } from 'vitest';
import { schedulerOfJobId } from './scheduler-apply.js';

describe('the scheduler a job id comes from', () => {
  it('is read from the ids BullMQ gives the jobs of a job scheduler', () => {
    expect(schedulerOfJobId('repeat:poll|sense1|%2Fhdr:1767225600001')).toBe('poll|sense1|%2Fhdr');
    // BullMQ allows colons in a scheduler's id: the due time is what follows the last one.
    expect(schedulerOfJobId('repeat:nightly:report:1767225600000')).toBe('nightly:report');
  });

  it('is none for any other id', () => {
    expect(schedulerOfJobId('poll|sense1|%2Fhdr|first|58907520')).toBeUndefined();
    expect(schedulerOfJobId('42')).toBeUndefined();
    expect(schedulerOfJobId('repeat:poll|sense1|%2F')).toBeUndefined();
    expect(schedulerOfJobId('repeat:poll|sense1|%2F:soon')).toBeUndefined();
    expect(schedulerOfJobId('repeat::1767225600000')).toBeUndefined();
  });
});
