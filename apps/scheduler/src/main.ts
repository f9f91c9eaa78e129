#!/usr/bin/env node
import { runApp } from '@qsm/roles/run-app';
import { startScheduler } from '@qsm/roles/scheduler';
import { z } from 'zod';

await runApp({
  role: 'scheduler',
  defaultHttpPort: 9851,
  config: 'required',
  checkCertificates: false,
  connection: 'producer',
  env: z.object({}),
  start: async (context) => [await startScheduler(context)],
});
