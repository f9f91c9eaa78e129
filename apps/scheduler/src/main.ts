#!/usr/bin/env node
import { schedulerEnvSchema } from '@qsm/config';
import { runApp } from '@qsm/host';
import { startScheduler } from '@qsm/role-scheduler';

await runApp({
  role: 'scheduler',
  defaultHttpPort: 9851,
  connection: 'producer',
  config: 'required',
  checkCertificates: false,
  env: schedulerEnvSchema,
  start: async (context, env) => [await startScheduler(context, env)],
});
