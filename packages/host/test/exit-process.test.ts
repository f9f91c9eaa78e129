import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const logging = fileURLToPath(new URL('../../logging/dist/index.js', import.meta.url));
const runtime = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/**
 * Runs a process that logs `lines` JSON lines and then calls exitProcess(0). Resolves with how it
 * ended (exit code or signal, or 'hung') and what it wrote to stdout, if stdout was read.
 */
function logThenExit(lines: number, readStdout: boolean, timeoutMs = 10_000) {
  const script = `
    const { createLogger } = await import(${JSON.stringify(logging)});
    const { exitProcess } = await import(${JSON.stringify(runtime)});
    const logger = createLogger({ role: 'test', format: 'json' });
    for (let i = 0; i < ${lines}; i++) logger.info({ i, filler: 'x'.repeat(200) }, 'line');
    logger.info('last line');
    await exitProcess(0);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  if (readStdout) child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  else child.stdout.pause(); // a log collector that stopped reading
  return new Promise<{ ended: number | string; output: string }>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ ended: 'hung', output });
    }, timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ ended: code ?? signal ?? -1, output });
    });
  });
}

describe('ending the process', () => {
  it('writes every log line before it exits 0', async () => {
    const { ended, output } = await logThenExit(20_000, true);
    expect(ended).toBe(0);
    const lines = output.trim().split('\n');
    expect(lines).toHaveLength(20_001);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ msg: 'last line' });
  });

  it('still ends when nobody reads stdout any more', { timeout: 15_000 }, async () => {
    const { ended } = await logThenExit(20_000, false);
    expect(ended).not.toBe('hung');
  });
});
