import type { Settings } from '@qsm/config';
import type { Logger } from '@qsm/logging';
import type { QueueContext } from '@qsm/queues';
import type { Registry } from 'prom-client';
import type { MetricsTexts } from './metrics-registry.js';

/** What every role gets from the process that runs it. */
export interface ProcessContext {
  logger: Logger;
  registry: Registry;
  /** Metrics the role renders as text itself, served after the registry's. */
  metricsTexts: MetricsTexts;
  queues: QueueContext;
  /** A role's stop() must be done within this; it aborts work in flight when it has to. */
  shutdownTimeoutMs: number;
  /** BullMQ lock duration and stalled-job check interval of the role's workers. */
  workerLockMs: number;
}

/** The context of roles that work from the Butler SOS config file. */
export interface RoleContext extends ProcessContext {
  /** The settings the process started with; later changes arrive through RunningRole.applySettings. */
  settings: Settings;
}

/** A started role. Several can share one process (the all-in-one mode). */
export interface RunningRole {
  readonly name: string;
  /** The role's own dependencies (`{ influxdb: 'up' }`); a value other than 'up' makes the app unready. */
  checks(): Promise<Record<string, string>>;
  /** A new, valid config was loaded (file changed or SIGHUP). */
  applySettings(settings: Settings): Promise<void>;
  /** Stop taking work, finish or release what is in flight, close what the role opened. */
  stop(): Promise<void>;
}
