import type { PollFailure, RepositoryFailure } from '@qsm/model';
import {
  type FieldEntry,
  formatLine,
  type InfluxVersion,
  integerField,
  quotedField,
} from './line-protocol.js';

/**
 * A failed poll as Butler SOS's error tracker records it (`butler_sos_errors`, error_type PROXY_API),
 * plus the message, which Butler SOS only logs. `error_count` is an integer on every version, as
 * existing data has it.
 */
export function buildErrorLine(
  failure: PollFailure,
  measurementName: string,
  version: InfluxVersion,
): string {
  const tags = {
    error_type: 'PROXY_API',
    server_name: failure.serverName,
    host: failure.qpsHost,
    virtual_proxy: failure.virtualProxy,
  };
  return formatLine(version, measurementName, tags, errorFields(failure), failure.failedAt);
}

/**
 * A failed read of the Qlik repository by discovery: error_type QRS_API (Butler SOS has no such type; its
 * own repository reads are not tracked), `server_name` and `host` the repository's `host:port`.
 */
export function buildRepositoryErrorLine(
  failure: RepositoryFailure,
  measurementName: string,
  version: InfluxVersion,
): string {
  const tags = {
    error_type: 'QRS_API',
    server_name: failure.repository,
    host: failure.repository,
    module: 'discovery',
  };
  return formatLine(version, measurementName, tags, errorFields(failure), failure.failedAt);
}

function errorFields(failure: PollFailure | RepositoryFailure): FieldEntry[] {
  const fields: FieldEntry[] = [
    ['error_count', integerField(1)],
    ['error_category', quotedField(failure.category)],
    ['error_message', quotedField(failure.message)],
    ['request_url', quotedField(failure.url)],
  ];
  if (failure.code) fields.push(['error_code', quotedField(failure.code)]);
  if (failure.httpStatus !== undefined) fields.push(['http_status', integerField(failure.httpStatus)]);
  if (failure.timeoutMs !== undefined) fields.push(['request_timeout_ms', integerField(failure.timeoutMs)]);
  return fields;
}
