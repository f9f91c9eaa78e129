import { Point, escape as pointEscapers } from '@influxdata/influxdb-client';
import { describe, expect, it } from 'vitest';
import { installFastEscapers, originalEscapers } from './fast-escape.js';

const SAMPLES = [
  '',
  'plain',
  'a b,c=d"e\\f\ng\th\rj',
  'trailing\\',
  '😀 ünï 東京',
  '"quoted" \\ back',
  'x'.repeat(300),
  ...Array.from({ length: 500 }, (_, i) =>
    Array.from({ length: (i % 40) + 1 }, (_, k) => String.fromCharCode(((i * 31 + k * 17) % 126) + 1)).join(
      '',
    ),
  ),
];

describe('the faster escapers', () => {
  it('escape exactly as the library does', () => {
    const original = originalEscapers();
    installFastEscapers();
    for (const value of SAMPLES) {
      expect(pointEscapers.tag(value)).toBe(original.tag(value));
      expect(pointEscapers.measurement(value)).toBe(original.measurement(value));
      expect(pointEscapers.quoted(value)).toBe(original.quoted(value));
    }
  });

  it('are what Point uses', () => {
    installFastEscapers();
    const line = new Point('m n')
      .tag('t k', 'v,w')
      .stringField('f', 'a"b')
      .toLineProtocol({ convertTime: () => '1' });
    expect(line).toBe('m\\ n,t\\ k=v\\,w f="a\\"b" 1');
  });
});
