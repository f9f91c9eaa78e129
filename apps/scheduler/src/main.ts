#!/usr/bin/env node
import { schedulerEnvSchema } from '@qsm/config';
import { runApp } from '@qsm/roles/run-app';
import { startScheduler } from '@qsm/roles/scheduler';

await runApp({
  role: 'scheduler',
  defaultHttpPort: 9851,
  connection: 'producer',
  config: 'required',
  checkCertificates: false,
  env: schedulerEnvSchema,
  start: async (context, env) => [await startScheduler(context, env)],
});
