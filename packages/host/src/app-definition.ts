import type { CommonEnv } from '@qsm/config';
import type { Logger } from '@qsm/logging';
import type { ConnectionRole } from '@qsm/redis';
import type { z } from 'zod';
import type { ProcessContext, RoleContext, RunningRole } from './role.js';

/** The settings an app reads from the environment: its own variables and the common ones. */
export type AppEnvironment<S extends z.ZodType> = z.output<S> & CommonEnv;

interface AppBasics<S extends z.ZodType> {
  /** On every log line and metric (`scheduler`, `poller`, ...). */
  role: string;
  /** Where /healthz, /readyz and /metrics listen unless HTTP_PORT says otherwise. */
  defaultHttpPort: number;
  /** Producers fail fast while Redis is away; workers wait for it. */
  connection: ConnectionRole;
  /** The app's own environment variables, besides the common ones. */
  env: S;
  /**
   * Niceness unless PROCESS_NICE says otherwise. Sinks yield the CPU to pollers: a poll's timing is its
   * sample time, while a delivery that waits a few hundred ms loses nothing.
   */
  defaultNice?: number;
  /** V8's old-generation growth unless HEAP_GROWING_PERCENT says otherwise (0 or unset: V8's own). */
  defaultHeapGrowingPercent?: number;
}

/** What an app declares; runApp does the rest. */
export type AppDefinition<S extends z.ZodType> = AppBasics<S> &
  (
    | {
        /** The app works from the Butler SOS config file (CONFIG_FILE / --config). */
        config: 'required';
        /** Read the certificate files at start (the apps that call QPS). */
        checkCertificates: boolean;
        start(context: RoleContext, env: AppEnvironment<S>): Promise<RunningRole[]>;
      }
    | {
        /** The app needs Redis only (the board). */
        config: 'none';
        start(context: ProcessContext, env: AppEnvironment<S>): Promise<RunningRole[]>;
      }
  );

/** A started app. */
export interface RunningApp {
  logger: Logger;
  httpPort: number;
  /** The same stop as SIGTERM's: it ends the process. */
  stop(reason: string): Promise<void>;
}
