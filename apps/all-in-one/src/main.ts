#!/usr/bin/env node
import {
  discoveryEnvSchema,
  influxSinkEnvSchema,
  mqttSinkEnvSchema,
  pollerEnvSchema,
  schedulerEnvSchema,
  trackerEnvSchema,
} from '@qsm/config';
import { runApp } from '@qsm/host';
import { startInfluxSink } from '@qsm/role-influx-sink';
import { startMqttSink } from '@qsm/role-mqtt-sink';
import { startPoller } from '@qsm/role-poller';
import { discoverySetupFrom, startScheduler } from '@qsm/role-scheduler';
import { createSiteFiguresExtension, startTracker } from '@qsm/role-tracker';

/**
 * Scheduler, poller, the enabled sinks and (with SESSION_TRACKING) the tracker in one process: the same roles
 * the separate apps run.
 */
await runApp({
  role: 'all-in-one',
  defaultHttpPort: 9850,
  config: 'required',
  checkCertificates: true,
  connection: 'worker',
  env: pollerEnvSchema
    .extend(influxSinkEnvSchema.shape)
    .extend(mqttSinkEnvSchema.shape)
    .extend(schedulerEnvSchema.shape)
    .extend(discoveryEnvSchema.shape)
    .extend(trackerEnvSchema.shape),
  start: async (context, env) => {
    const { influxdbConfig, mqttConfig } = context.settings;
    return [
      await startScheduler(context, env, discoverySetupFrom(env)),
      await startPoller(context, env),
      ...(influxdbConfig.enable ? [await startInfluxSink(context, env)] : []),
      ...(mqttConfig.enable ? [await startMqttSink(context, env)] : []),
      ...(env.SESSION_TRACKING
        ? [await startTracker(context, env, { extensions: [createSiteFiguresExtension(context, env)] })]
        : []),
    ];
  },
});
