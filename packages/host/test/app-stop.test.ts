import { describe, expect, it } from 'vitest';
import { createAppStop, runStopSteps, type StopStep } from '../src/app-stop.js';
import { captureLogger } from './capture-logger.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const hang = () => new Promise<void>(() => {});

function recorder() {
  const ran: string[] = [];
  const step = (name: string, run: () => Promise<void> | void = () => {}): StopStep => ({
    name,
    run() {
      ran.push(name);
      return run();
    },
  });
  return { ran, step };
}

describe('the stop steps', () => {
  it('run in order, one after the other, each logged with its step', async () => {
    const { logger, lines } = captureLogger();
    const { ran, step } = recorder();
    const finished: string[] = [];
    const slow = step('poller', async () => {
      await sleep(30);
      finished.push('poller');
    });
    const outcome = await runStopSteps(
      [step('config watch'), slow, step('ops endpoint'), step('redis')],
      1000,
      logger,
    );
    expect(outcome).toEqual({ kind: 'done' });
    expect(ran).toEqual(['config watch', 'poller', 'ops endpoint', 'redis']);
    expect(finished).toEqual(['poller']);
    expect(lines.filter((l) => l.msg === 'stop step finished').map((l) => l.step)).toEqual(ran);
  });

  it('share one budget: a step gets what the steps before it left', async () => {
    const { logger, lines } = captureLogger();
    const { ran, step } = recorder();
    const started = Date.now();
    const outcome = await runStopSteps(
      [step('sink', () => sleep(120)), step('poller', hang), step('redis')],
      200,
      logger,
    );
    const took = Date.now() - started;
    expect(outcome).toEqual({ kind: 'late', step: 'poller' });
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(400);
    expect(ran).toEqual(['sink', 'poller', 'redis']);
    expect(lines.find((l) => l.msg.includes('after the deadline'))).toMatchObject({ step: 'redis' });
  });

  it('do not let a hanging step hold the later ones beyond the budget', async () => {
    const { logger } = captureLogger();
    const { ran, step } = recorder();
    let closed = false;
    const started = Date.now();
    const outcome = await runStopSteps(
      [
        step('poller', hang),
        step('redis', () => {
          closed = true;
        }),
      ],
      100,
      logger,
    );
    expect(Date.now() - started).toBeLessThan(300);
    expect(outcome).toEqual({ kind: 'late', step: 'poller' });
    expect(ran).toEqual(['poller', 'redis']);
    expect(closed).toBe(true);
  });

  it('go on after a step that throws, and say which one', async () => {
    const { logger, lines } = captureLogger();
    const { ran, step } = recorder();
    const outcome = await runStopSteps(
      [
        step('poller', () => {
          throw new Error('worker close failed');
        }),
        step('ops endpoint'),
        step('redis', () => Promise.reject(new Error('quit failed'))),
      ],
      1000,
      logger,
    );
    expect(outcome).toEqual({ kind: 'failed', steps: ['poller', 'redis'] });
    expect(ran).toEqual(['poller', 'ops endpoint', 'redis']);
    expect(lines.filter((l) => l.msg === 'error while shutting down').map((l) => l.step)).toEqual([
      'poller',
      'redis',
    ]);
  });
});

describe('the app stop', () => {
  function appStop(steps: StopStep[], timeoutMs = 1000) {
    const { logger, lines } = captureLogger();
    const exits: number[] = [];
    const stop = createAppStop({ logger, timeoutMs, steps: () => steps, exit: (code) => exits.push(code) });
    return { stop, lines, exits };
  }

  it('stops once however often it is asked, and exits 0', async () => {
    const { ran, step } = recorder();
    const { stop, lines, exits } = appStop([step('poller'), step('redis')]);
    expect(stop.stopping).toBe(false);
    const first = stop.stop('SIGTERM');
    expect(stop.stopping).toBe(true);
    expect(stop.stop('SIGINT')).toBe(first);
    await first;
    expect(ran).toEqual(['poller', 'redis']);
    expect(exits).toEqual([0]);
    expect(lines.find((l) => l.msg === 'shutting down')).toMatchObject({
      reason: 'SIGTERM',
      deadlineMs: 1000,
    });
    expect(lines.at(-1)?.msg).toBe('stopped');
  });

  it('exits 0 when the deadline passes, naming the step that was late', async () => {
    const { step } = recorder();
    const { stop, lines, exits } = appStop([step('poller', hang), step('redis')], 100);
    await stop.stop('SIGTERM');
    expect(exits).toEqual([0]);
    expect(lines.find((l) => l.msg === 'shutdown deadline passed, exiting')).toMatchObject({
      step: 'poller',
      deadlineMs: 100,
    });
  });

  it('exits 1 when a step failed', async () => {
    const { step } = recorder();
    const { stop, lines, exits } = appStop([
      step('poller', () => Promise.reject(new Error('no'))),
      step('redis'),
    ]);
    await stop.stop('SIGTERM');
    expect(exits).toEqual([1]);
    expect(lines.some((l) => l.msg === 'stopped')).toBe(false);
  });
});
