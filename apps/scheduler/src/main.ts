#!/usr/bin/env node
import { discoveryEnvSchema, schedulerEnvSchema, trackingEnvSchema } from '@qsm/config';
import { runApp } from '@qsm/host';
import { discoverySetupFrom, startScheduler } from '@qsm/role-scheduler';

await runApp({
  role: 'scheduler',
  defaultHttpPort: 9851,
  connection: 'producer',
  config: 'required',
  checkCertificates: false,
  env: schedulerEnvSchema.extend(discoveryEnvSchema.shape).extend(trackingEnvSchema.shape),
  start: async (context, env) => [await startScheduler(context, env, discoverySetupFrom(env))],
});
