import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseAppEnvironment } from '../src/app-environment.js';

const ownSchema = z.object({ SINK_MODE: z.enum(['fast', 'safe']).default('safe') });

describe('reading the environment', () => {
  it('gives the common defaults and the app variables when nothing is set', () => {
    const outcome = parseAppEnvironment(ownSchema, {});
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.env.SINK_MODE).toBe('safe');
    expect(outcome.env.SHUTDOWN_TIMEOUT_MS).toBe(8000);
    expect(outcome.env.REDIS_URL).toBe('redis://127.0.0.1:6379');
  });

  it('reads set values, an empty one as unset', () => {
    const outcome = parseAppEnvironment(ownSchema, {
      SINK_MODE: 'fast',
      HTTP_PORT: '9101',
      PROCESS_NICE: '',
    });
    expect(outcome.ok && outcome.env).toMatchObject({ SINK_MODE: 'fast', HTTP_PORT: 9101 });
    expect(outcome.ok && outcome.env.PROCESS_NICE).toBeUndefined();
  });

  it('names every bad variable, common and the app own, in one error', () => {
    const outcome = parseAppEnvironment(ownSchema, {
      HTTP_PORT: 'eighty',
      SHUTDOWN_TIMEOUT_MS: '5',
      SINK_MODE: 'reckless',
    });
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    const message = outcome.error.message;
    expect(message).toContain('HTTP_PORT');
    expect(message).toContain('SHUTDOWN_TIMEOUT_MS');
    expect(message).toContain('SINK_MODE');
    expect(outcome.error.problems).toHaveLength(3);
  });

  it('reports a bad app variable even when the common ones are fine, and the reverse', () => {
    const own = parseAppEnvironment(ownSchema, { SINK_MODE: 'reckless' });
    expect(!own.ok && own.error.problems.map((p) => p.path)).toEqual([expect.stringContaining('SINK_MODE')]);
    const common = parseAppEnvironment(ownSchema, { REDIS_URL: 'http://localhost' });
    expect(!common.ok && common.error.message).toContain('REDIS_URL');
  });
});
