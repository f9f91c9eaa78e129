#!/usr/bin/env node
import { pollerEnvSchema } from '@qsm/config';
import { startPoller } from '@qsm/roles/poller';
import { runApp } from '@qsm/roles/run-app';

// Subpath imports: a poller does not load the InfluxDB and MQTT libraries (memory per process).
await runApp({
  role: 'poller',
  defaultHttpPort: 9852,
  connection: 'worker',
  config: 'required',
  checkCertificates: true,
  env: pollerEnvSchema,
  start: async (context, env) => [await startPoller(context, env)],
});
