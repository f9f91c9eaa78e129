/** `10d`, `1w2d`, `36h`, `0`/`INF` (forever) -> seconds, for InfluxDB 2.x bucket retention rules. */
export function durationSeconds(text: string): number {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === '0' || /^inf$/i.test(trimmed)) return 0;
  const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  let total = 0;
  let rest = trimmed;
  const part = /^(\d+)(s|m|h|d|w)/;
  while (rest) {
    const match = part.exec(rest);
    if (!match) throw new Error(`"${text}" is not a duration like 10d, 36h or 1w2d`);
    total += Number(match[1]) * (units[match[2]!] ?? 0);
    rest = rest.slice(match[0].length);
  }
  return total;
}
