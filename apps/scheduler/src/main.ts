#!/usr/bin/env node
import { runApp, startScheduler } from '@qsm/roles';
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
