import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { formatHostPort, probeTcp, redactUrl, redactUrlsInText } from './index.js';

describe('formatHostPort', () => {
  it('puts IPv6 addresses in brackets, and only those', () => {
    expect(formatHostPort('influx.lab', 8086)).toBe('influx.lab:8086');
    expect(formatHostPort('10.0.0.5', '4243')).toBe('10.0.0.5:4243');
    expect(formatHostPort('fe80::1', 1883)).toBe('[fe80::1]:1883');
    expect(formatHostPort('[::1]', 1883)).toBe('[::1]:1883');
  });
});

describe('redaction', () => {
  it('hides the password of a URL and keeps the rest', () => {
    expect(redactUrl('redis://:s3cret@redis.lab:6379/2')).toBe('redis://:***@redis.lab:6379/2');
    expect(redactUrl('mqtts://user:pw@broker:8883')).toBe('mqtts://user:***@broker:8883');
    expect(redactUrl('mqtt://token@broker:1883')).toBe('mqtt://***@broker:1883');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redactUrl('not a url :pw@')).toBe('(invalid url)');
  });

  it('strips credentials from URLs in text', () => {
    expect(redactUrlsInText('mqtts://user:pw@broker:8883 and redis://:s3@r:1')).toBe(
      'mqtts://user:***@broker:8883 and redis://:***@r:1',
    );
    expect(redactUrlsInText('GET https://token@host/x failed')).toBe('GET https://***@host/x failed');
    expect(redactUrlsInText('no url here: a@b')).toBe('no url here: a@b');
  });
});

describe('probeTcp', () => {
  it('finds a listening port reachable, and a closed one refused', async () => {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      expect(await probeTcp('127.0.0.1', port)).toEqual({ reachable: true });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await probeTcp('127.0.0.1', port)).toMatchObject({
      reachable: false,
      reason: 'error',
      code: 'ECONNREFUSED',
    });
  });
});
