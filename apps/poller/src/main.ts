#!/usr/bin/env node
import { pollerEnvSchema } from '@qsm/config';
import { runApp, startPoller } from '@qsm/roles';

await runApp({
  role: 'poller',
  defaultHttpPort: 9852,
  config: 'required',
  checkCertificates: true,
  connection: 'worker',
  env: pollerEnvSchema,
  start: async (context, env) => [await startPoller(context, env)],
});
