import type { Point } from '@influxdata/influxdb-client';
import { installFastEscapers } from './fast-escape.js';

installFastEscapers();

const asMilliseconds = { convertTime: (value: string | number | Date | undefined) => String(value) };

/** Points -> line protocol with millisecond timestamps (every writer writes with precision ms). */
export function toLineProtocol(points: Point[]): string[] {
  const lines: string[] = [];
  for (const point of points) {
    const line = point.toLineProtocol(asMilliseconds);
    if (line) lines.push(line);
  }
  return lines;
}
