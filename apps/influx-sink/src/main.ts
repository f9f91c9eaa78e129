#!/usr/bin/env node
import { influxSinkEnvSchema } from '@qsm/config';
import { runApp, startInfluxSink } from '@qsm/roles';

await runApp({
  role: 'influx-sink',
  defaultHttpPort: 9853,
  config: 'required',
  checkCertificates: false,
  connection: 'worker',
  env: influxSinkEnvSchema,
  start: async (context, env) => [await startInfluxSink(context, env)],
});
