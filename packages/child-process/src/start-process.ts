import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface RunningProcess {
  readonly child: ChildProcess;
  readonly name: string;
  /** The lines written to stdout and stderr so far (the first `keepLines` of them). */
  readonly lines: string[];
  /** Resolves with the first line matching `predicate` (past lines included). */
  waitForLine(predicate: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or the signal name) once the process has exited and its output is read. */
  readonly exited: Promise<number | string>;
  /** Sends `signal` and waits for the exit; SIGKILL after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
}

const running = new Set<RunningProcess>();

export interface StartOptions {
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Also write each line to stderr, prefixed with the name (or set QSM_TEST_ECHO). */
  echo?: boolean;
  /** Also append stdout and stderr to this file. */
  logFile?: string;
  /** Keep only the first lines (a long-running process): by default every line. */
  keepLines?: number;
}

// A test, benchmark or demo that crashes must not leave its apps running (polling, writing) behind it.
process.once('exit', () => {
  for (const proc of running) proc.child.kill('SIGKILL');
});

/** Starts a process whose output is kept for assertions; `stopAll` ends whatever a test left running. */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: StartOptions = {},
): RunningProcess {
  const child = spawn(command, args, {
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (options.logFile) {
    const log = createWriteStream(options.logFile);
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    child.once('close', () => log.end());
  }
  const keepLines = options.keepLines ?? Number.POSITIVE_INFINITY;
  const lines: string[] = [];
  const waiters: Array<{ predicate: (line: string) => boolean; resolve: (line: string) => void }> = [];
  const onLine = (line: string) => {
    if (lines.length < keepLines) lines.push(line);
    if (options.echo || process.env.QSM_TEST_ECHO) process.stderr.write(`[${name}] ${line}\n`);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  };
  if (child.stdout) createInterface({ input: child.stdout }).on('line', onLine);
  if (child.stderr) createInterface({ input: child.stderr }).on('line', onLine);
  const exited = new Promise<number | string>((resolve) => {
    const closed = new Promise<void>((done) => child.once('close', () => done()));
    child.once('exit', (code, signal) => {
      // The exit counts once the last lines in the pipes are read (a test checks them right after a stop),
      // but a grandchild that holds the pipes open does not hold it up for long.
      const result = code ?? signal ?? -1;
      const timer = setTimeout(() => resolve(result), 2000);
      void closed.then(() => {
        clearTimeout(timer);
        resolve(result);
      });
    });
  });

  const proc: RunningProcess = {
    child,
    name,
    lines,
    exited,
    waitForLine(predicate, timeoutMs = 15_000) {
      const seen = lines.find(predicate);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(
            new Error(
              `${name}: no matching output within ${timeoutMs} ms. Output:\n${lines.slice(-40).join('\n')}`,
            ),
          );
        }, timeoutMs);
        const waiter = {
          predicate,
          resolve: (line: string) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        waiters.push(waiter);
        void exited.then((code) => {
          if (waiters.includes(waiter)) {
            clearTimeout(timer);
            reject(
              new Error(
                `${name} exited (${code}) before the expected output. Output:\n${lines.slice(-40).join('\n')}`,
              ),
            );
          }
        });
      });
    },
    async stop(signal = 'SIGTERM', timeoutMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(timer);
      }
      running.delete(proc);
      return exited;
    },
  };
  running.add(proc);
  void exited.then(() => running.delete(proc));
  return proc;
}

/** Stops every process started through startProcess that is still running (for afterEach/afterAll). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop('SIGTERM', 5000)));
}
