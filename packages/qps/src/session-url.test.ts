import { describe, expect, it } from 'vitest';
import { buildSessionUrl, withoutQuery } from './session-url.js';
import { createXrfkey } from './xrfkey.js';

describe('buildSessionUrl', () => {
  it('uses /qps/session for the default virtual proxy', () => {
    expect(buildSessionUrl('sense1.lab:4243', '/', 'abcdefghij012345')).toBe(
      'https://sense1.lab:4243/qps/session?Xrfkey=abcdefghij012345',
    );
  });

  it('puts the prefix after /qps/ for other virtual proxies', () => {
    expect(buildSessionUrl('sense1.lab:4243', '/hdr', 'k')).toBe(
      'https://sense1.lab:4243/qps/hdr/session?Xrfkey=k',
    );
  });

  it('keeps an unusual prefix in one percent-encoded path segment', () => {
    expect(buildSessionUrl('h:4243', '/ä b', 'k')).toBe('https://h:4243/qps/%C3%A4%20b/session?Xrfkey=k');
  });

  it('drops the query string (and the Xrfkey) for logs and error records', () => {
    expect(withoutQuery('https://h:4243/qps/session?Xrfkey=abc')).toBe('https://h:4243/qps/session');
  });
});

describe('createXrfkey', () => {
  it('makes 16 alphanumeric characters, different every time', () => {
    const keys = new Set(Array.from({ length: 1000 }, createXrfkey));
    expect(keys.size).toBe(1000);
    for (const key of keys) expect(key).toMatch(/^[0-9A-Za-z]{16}$/);
  });
});
