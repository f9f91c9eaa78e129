import { Point } from '@influxdata/influxdb-client';
import type { PollFailure } from '@qsm/model';
import { tagValue } from './tag-value.js';

/**
 * A failed poll as Butler SOS's error tracker records it (`butler_sos_errors`, error_type PROXY_API),
 * plus the message, which Butler SOS only logs.
 */
export function buildErrorPoint(failure: PollFailure, measurement: string): Point {
  const point = new Point(measurement)
    .timestamp(failure.failedAt)
    .tag('error_type', 'PROXY_API')
    .tag('server_name', tagValue(failure.serverName))
    .tag('host', tagValue(failure.qpsHost))
    .tag('virtual_proxy', tagValue(failure.virtualProxy))
    .intField('error_count', 1)
    .stringField('error_category', failure.category)
    .stringField('error_message', failure.message)
    .stringField('request_url', failure.url);
  if (failure.code) point.stringField('error_code', failure.code);
  if (failure.httpStatus !== undefined) point.intField('http_status', failure.httpStatus);
  if (failure.timeoutMs !== undefined) point.intField('request_timeout_ms', failure.timeoutMs);
  return point;
}
