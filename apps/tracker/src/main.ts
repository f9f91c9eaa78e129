#!/usr/bin/env node
import { trackerEnvSchema } from '@qsm/config';
import { runApp } from '@qsm/host';
import { createSiteFiguresExtension, startTracker } from '@qsm/role-tracker';

await runApp({
  role: 'tracker',
  defaultHttpPort: 9856,
  connection: 'worker',
  config: 'required',
  checkCertificates: false,
  env: trackerEnvSchema,
  start: async (context, env) => [
    await startTracker(context, env, { extensions: [createSiteFiguresExtension(context, env)] }),
  ],
});
