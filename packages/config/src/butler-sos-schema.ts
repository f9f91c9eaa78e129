import { z } from 'zod';
import { isTemplatePlaceholder, parseHostPort } from './host-port.js';
import { checkVirtualProxyPrefix } from './virtual-proxy.js';

/*
 * Schemas for the parts of a Butler SOS config file that this product reads. Objects are "loose":
 * keys we do not know are kept out of the result, not rejected, so that configs written for any
 * Butler SOS version load; they are reported as warnings by the loader instead.
 * Butler SOS turns empty (null) lists and maps into empty ones; so do we.
 */

const text = z.string();
const nonEmptyText = z.string().min(1);
const nullableList = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .nullish()
    .transform((v) => v ?? []);

/*
 * A Qlik server's host names may still hold a placeholder of Butler SOS's template, which ships with them
 * unfilled in sections it enables: that file must load, so the loader warns about them (see load-config)
 * and each poll of the server fails. InfluxDB's and the broker's hosts get no such leniency: a sink could
 * not do anything.
 */
const hostName = (options: { portRequired: boolean; placeholderAllowed: boolean }) =>
  nonEmptyText.superRefine((value, ctx) => {
    if (options.placeholderAllowed && isTemplatePlaceholder(value)) return;
    const parsed = parseHostPort(value);
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
    else if (options.portRequired && parsed.port === undefined)
      ctx.addIssue({
        code: 'custom',
        message: `"${value}" has no port: QPS listens on 4243 by default (write "${value}:4243")`,
      });
  });

const hostWithOptionalPort = hostName({ portRequired: false, placeholderAllowed: false });
const serverHost = hostName({ portRequired: false, placeholderAllowed: true });
const qpsHost = hostName({ portRequired: true, placeholderAllowed: true });

export const virtualProxyPrefix = text.superRefine((value, ctx) => {
  const problem = checkVirtualProxyPrefix(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** `Butler-SOS.userSessions` when only the switch is known. */
export const userSessionsSwitchSchema = z.looseObject({ enableSessionExtract: z.boolean() });

/** `Butler-SOS.userSessions` with `enableSessionExtract: true`. */
export const userSessionsSchema = z.looseObject({
  enableSessionExtract: z.literal(true),
  pollingInterval: z.number().int().min(1000),
  excludeUser: nullableList(z.looseObject({ directory: text, userId: text })),
});

const tagValue = z.union([z.string(), z.number(), z.boolean()], {
  error: (iss) =>
    `must be a string, number or boolean (got ${iss.input === null ? 'null' : typeof iss.input})`,
});

const serverSessionsSchema = z
  .looseObject({
    enable: z.boolean(),
    host: qpsHost.optional(),
    virtualProxies: z.array(z.looseObject({ virtualProxy: virtualProxyPrefix })).optional(),
  })
  .superRefine((value, ctx) => {
    if (!value.enable) return;
    if (value.host === undefined)
      ctx.addIssue({ code: 'custom', path: ['host'], message: 'required when userSessions.enable is true' });
    if (value.virtualProxies === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['virtualProxies'],
        message: 'required when userSessions.enable is true',
      });
    else if (value.virtualProxies.length === 0)
      ctx.addIssue({ code: 'custom', path: ['virtualProxies'], message: 'must have at least 1 item' });
  });

export const serverSchema = z.looseObject({
  host: serverHost,
  serverName: nonEmptyText,
  serverDescription: text,
  userSessions: serverSessionsSchema,
  serverTags: z
    .record(z.string(), tagValue.nullable())
    .nullish()
    .transform((v) => v ?? {}),
});

export const serversToMonitorSchema = z.looseObject({
  rejectUnauthorized: z.boolean(),
  serverTagsDefinition: nullableList(nonEmptyText),
  servers: nullableList(z.unknown()),
});

export const certSchema = z.looseObject({
  clientCert: nonEmptyText,
  clientCertKey: nonEmptyText,
  clientCertCA: nonEmptyText,
  clientCertPassphrase: z
    .string()
    .nullish()
    .transform((v) => (v ? v : null)),
});

const enabledSwitch = z.looseObject({ enable: z.boolean() });

export { enabledSwitch };

export const influxCommonSchema = z.looseObject({
  enable: z.literal(true),
  host: hostWithOptionalPort,
  port: z.number().int().min(1).max(65535),
  version: z.union([z.literal(1), z.literal(2), z.literal(3)], {
    error: (iss) => `must be 1, 2 or 3 (got ${JSON.stringify(iss.input)})`,
  }),
  maxBatchSize: z.number().int().min(1).max(10000).default(1000),
});

export const influxV1Schema = z.looseObject({
  auth: z
    .looseObject({ enable: z.boolean(), username: z.string().nullish(), password: z.string().nullish() })
    .superRefine((auth, ctx) => {
      if (!auth.enable) return;
      if (!auth.username)
        ctx.addIssue({ code: 'custom', path: ['username'], message: 'required when auth.enable is true' });
      if (auth.password == null)
        ctx.addIssue({ code: 'custom', path: ['password'], message: 'required when auth.enable is true' });
    }),
  dbName: nonEmptyText,
  retentionPolicy: z.looseObject({ name: nonEmptyText, duration: nonEmptyText }),
});

export const influxV2Schema = z.looseObject({
  org: nonEmptyText,
  bucket: nonEmptyText,
  description: text,
  token: nonEmptyText,
  retentionDuration: text,
});

export const influxV3Schema = z.looseObject({
  database: nonEmptyText,
  description: text,
  token: text,
  retentionDuration: text,
  writeTimeout: z.number().int().min(1000).default(10000),
  queryTimeout: z.number().int().min(1000).default(60000),
});

export const mqttSchema = z.looseObject({
  enable: z.literal(true),
  brokerHost: hostWithOptionalPort,
  brokerPort: z.number().int().min(1).max(65535),
  baseTopic: text,
});

export const prometheusSchema = z.looseObject({
  enable: z.literal(true),
  host: text.nullish(),
  port: z.number().int().min(1).max(65535),
});

export const errorTrackingSchema = z.looseObject({
  enable: z.boolean(),
  influxdb: z.looseObject({ enable: z.boolean(), measurementName: nonEmptyText.optional() }).optional(),
});
