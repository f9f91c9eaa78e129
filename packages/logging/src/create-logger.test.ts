import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './create-logger.js';

function capture(role = 'poller') {
  const stream = new PassThrough();
  const lines: Array<Record<string, unknown>> = [];
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
  });
  return { logger: createLogger({ role, destination: stream, format: 'json' }), lines };
}

describe('app loggers', () => {
  it('write JSON lines that carry the role', () => {
    const { logger, lines } = capture('influx-sink');
    logger.info({ points: 3 }, 'batch written');
    expect(lines[0]).toMatchObject({ role: 'influx-sink', msg: 'batch written', points: 3, level: 30 });
  });

  it('redact passwords, tokens, passphrases and certificate material at any depth', () => {
    const { logger, lines } = capture();
    logger.info(
      {
        password: 'p1',
        influx: { token: 't1', v1Config: { auth: { password: 'p2' } } },
        cert: { clientCertPassphrase: 'pp', key: '-----BEGIN PRIVATE KEY-----' },
        headers: { authorization: 'Basic abc' },
      },
      'settings',
    );
    const text = JSON.stringify(lines[0]);
    for (const secret of ['p1', 't1', 'p2', '"pp"', 'BEGIN PRIVATE KEY', 'Basic abc'])
      expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
  });

  it('log typed errors with their category but without credentials in URLs', () => {
    const { logger, lines } = capture();
    const error = Object.assign(new Error('connect to redis://:hunter2@redis.lab:6379 failed'), {
      category: 'connection_refused',
      retryable: true,
    });
    logger.error({ err: error }, 'poll failed');
    expect(lines[0]?.err).toMatchObject({ category: 'connection_refused', retryable: true });
    expect(JSON.stringify(lines[0])).not.toContain('hunter2');
  });
});
