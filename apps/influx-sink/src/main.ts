#!/usr/bin/env node
import { influxSinkEnvSchema } from '@qsm/config';
import { runApp } from '@qsm/host';
import { startInfluxSink } from '@qsm/role-influx-sink';

await runApp({
  role: 'influx-sink',
  defaultHttpPort: 9853,
  config: 'required',
  checkCertificates: false,
  connection: 'worker',
  defaultNice: 5,
  env: influxSinkEnvSchema,
  start: async (context, env) => [await startInfluxSink(context, env)],
});
