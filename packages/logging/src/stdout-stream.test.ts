import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The child loads the built package: stdout has to be a real fd 1 of another process.
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdoutLines: number;
  stderr: string;
  elapsedMs: number;
}

/** Runs `body` in a child process whose stdout is read (`read`) or left full and unread. */
function runChild(body: string, read: boolean): Promise<ChildRun> {
  const script = `import { createLogger, flushLogs } from ${JSON.stringify(dist)};\n${body}`;
  const started = Date.now();
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  if (read) child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child did not exit: ${stderr}`));
    }, 10_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      child.stdout.destroy();
      resolve({
        code,
        signal,
        stdoutLines: stdout.split('\n').filter(Boolean).length,
        stderr,
        elapsedMs: Date.now() - started,
      });
    });
  });
}

const FILL = `
const logger = createLogger({ role: 'test', format: 'json' });
const line = 'x'.repeat(1000);
for (let i = 0; i < 5000; i++) logger.info({ line, i }, 'fill');
`;

describe('stdout stream', () => {
  it('flushes every line before an exit when stdout is read', async () => {
    const run = await runChild(
      `${FILL}
const flushed = await flushLogs(5000);
process.stderr.write(JSON.stringify({ flushed }));
process.exit(0);`,
      true,
    );
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stderr)).toEqual({ flushed: true });
    expect(run.stdoutLines).toBe(5000);
  });

  // A write to a full pipe waits in libuv's thread pool, which a normal exit joins: the host ends such a
  // process with SIGKILL when the flush gives up, as this child does.
  it('never blocks on a stdout nobody reads: flush gives up and fatal returns', async () => {
    const run = await runChild(
      `${FILL}
const flushed = await flushLogs(200);
logger.fatal('last words');
process.stderr.write(JSON.stringify({ flushed }));
if (!flushed) process.kill(process.pid, 'SIGKILL');`,
      false,
    );
    expect(run.signal).toBe('SIGKILL');
    expect(JSON.parse(run.stderr)).toEqual({ flushed: false });
  });

  it('resolves at once when nothing was logged', async () => {
    const run = await runChild(
      `const flushed = await flushLogs(5000);
process.stderr.write(JSON.stringify({ flushed }));`,
      true,
    );
    expect(JSON.parse(run.stderr)).toEqual({ flushed: true });
    expect(run.elapsedMs).toBeLessThan(5000);
  });
});
