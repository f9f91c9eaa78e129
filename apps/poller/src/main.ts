#!/usr/bin/env node
import { pollerEnvSchema, trackingEnvSchema } from '@qsm/config';
import { runApp } from '@qsm/host';
import { startPoller } from '@qsm/role-poller';

await runApp({
  role: 'poller',
  defaultHttpPort: 9852,
  // Without it, V8 lets the old generation reach 4x the live heap between bursts (see docs/performance.md).
  defaultHeapGrowingPercent: 50,
  connection: 'worker',
  config: 'required',
  checkCertificates: true,
  env: pollerEnvSchema.extend(trackingEnvSchema.shape),
  start: async (context, env) => [await startPoller(context, env)],
});
