import { describe, expect, it } from 'vitest';
import { buildRepositoryErrorLine } from './error-lines.js';

describe('a failed read of the Qlik repository', () => {
  it('is a butler_sos_errors line of its own error type, naming the repository', () => {
    const line = buildRepositoryErrorLine(
      {
        v: 1,
        kind: 'repository_error',
        repository: 'qrs.corp.example:4242',
        failedAt: 1_700_000_000_123,
        category: 'http_4xx',
        message: 'the repository answered 403 Forbidden',
        url: 'https://qrs.corp.example:4242/qrs/proxyservice/full',
        httpStatus: 403,
      },
      'butler_sos_errors',
      1,
    );
    expect(line).toBe(
      'butler_sos_errors,error_type=QRS_API,host=qrs.corp.example:4242,module=discovery,server_name=qrs.corp.example:4242 ' +
        'error_category="http_4xx",error_count=1i,error_message="the repository answered 403 Forbidden",' +
        'http_status=403i,request_url="https://qrs.corp.example:4242/qrs/proxyservice/full" 1700000000123000000',
    );
  });
});
