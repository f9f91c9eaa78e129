import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { readDiscoveredPollTargets } from './repository.js';
import { parseStoredJson } from './stored-json.js';

describe('parseStoredJson', () => {
  const schema = z.object({ at: z.number() });

  it('gives the value that fits the schema', () => {
    expect(parseStoredJson(schema, '{"at":5}')).toEqual({ ok: true, value: { at: 5 } });
  });

  it('says which field is wrong, and when the text is no JSON at all', () => {
    expect(parseStoredJson(schema, '{"at":"5"}')).toEqual({
      ok: false,
      problem: expect.stringMatching(/^at: /),
    });
    expect(parseStoredJson(schema, '{"at":')).toEqual({ ok: false, problem: 'not JSON: "{\\"at\\":"' });
  });
});

describe('readDiscoveredPollTargets', () => {
  it('has none when discovery never ran, and none with the problem when they are not understood', () => {
    expect(readDiscoveredPollTargets(null)).toEqual({ targets: [] });
    expect(readDiscoveredPollTargets('{}')).toEqual({ targets: [], problem: expect.any(String) });
  });
});
