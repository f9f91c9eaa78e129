import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startProcess, stopAll } from './index.js';

const node = process.execPath;

afterEach(stopAll);

describe('startProcess', () => {
  it('keeps the lines of stdout and stderr, waits for one, and reports the exit code', async () => {
    const proc = startProcess('child', node, [
      '-e',
      'console.log("one"); console.error("two"); setTimeout(() => { console.log("ready 42"); process.exit(3); }, 50);',
    ]);
    expect(await proc.waitForLine((l) => l.startsWith('ready'))).toBe('ready 42');
    expect(await proc.exited).toBe(3);
    expect(proc.lines).toEqual(['one', 'two', 'ready 42']);
  });

  it('rejects a wait when the process exits without the line, with its output', async () => {
    const proc = startProcess('quitter', node, ['-e', 'console.log("bye")']);
    await expect(proc.waitForLine((l) => l === 'never')).rejects.toThrow(/quitter exited \(0\)[\s\S]*bye/);
  });

  it('writes the output to a log file and keeps only the first lines when asked', async () => {
    const logFile = path.join(mkdtempSync(path.join(tmpdir(), 'qsm-child-')), 'child.log');
    const proc = startProcess(
      'logger',
      node,
      ['-e', 'for (let i = 0; i < 5; i++) console.log(`line ${i}`)'],
      {
        logFile,
        keepLines: 2,
      },
    );
    await proc.exited;
    expect(proc.lines).toEqual(['line 0', 'line 1']);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(readFileSync(logFile, 'utf8')).toBe('line 0\nline 1\nline 2\nline 3\nline 4\n');
  });

  it('stops a process that ignores SIGTERM with SIGKILL after the deadline', async () => {
    const proc = startProcess('stubborn', node, [
      '-e',
      'process.on("SIGTERM", () => {}); console.log("up"); setInterval(() => {}, 1000);',
    ]);
    await proc.waitForLine((l) => l === 'up');
    expect(await proc.stop('SIGTERM', 200)).toBe('SIGKILL');
  });
});
