/**
 * Line protocol, the one way this package builds a line: every measurement (sessions and error records)
 * is written through the escapers and substitutions here.
 *
 * InfluxDB's parser ends a measurement at an unescaped comma or space, a tag key or value also at an
 * unescaped equals sign; a backslash escapes these three only, and a string field escapes `"` and `\`.
 * Anything else is taken as it is, a TAB included. What line protocol cannot carry in a tag value:
 * - a newline or carriage return ends the line: written as the two characters `\n`, `\r`;
 * - a value ending in a backslash escapes the separator after it, and InfluxDB refuses the point
 *   ("invalid tag format"), even with the backslash doubled: a space is appended (`dom\` -> `dom\ `);
 * - an empty value: the tag is left out (InfluxQL reads it as "").
 * A TAB is written raw on InfluxDB 1.x, where it reads back unchanged, as Butler SOS's 1.x writer (the
 * `influx` package) writes it. On 2.x and 3.x it is written as `\t`, as Butler SOS's writer there (the
 * official client's Point) writes it, so existing data and dashboards keep matching.
 * String fields carry every value exactly.
 */

export type InfluxVersion = 1 | 2 | 3;

type Escaper = (value: string) => string;

function escaper(replacements: Readonly<Record<string, string>>): Escaper {
  const chars = Object.keys(replacements)
    .map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .join('');
  const any = new RegExp(`[${chars}]`);
  const every = new RegExp(`[${chars}]`, 'g');
  const replace = (c: string) => replacements[c] ?? c;
  // Most values need no escaping: one test, no copy.
  return (value) => (any.test(value) ? value.replace(every, replace) : value);
}

const COMMON = { ',': '\\,', ' ': '\\ ', '\n': '\\n', '\r': '\\r' };
const escapeMeasurement = escaper({ ...COMMON, '\t': '\\t' });
const escapeTagRawTab = escaper({ ...COMMON, '=': '\\=' });
const escapeTagEscapedTab = escaper({ ...COMMON, '=': '\\=', '\t': '\\t' });
const escapeQuoted = escaper({ '"': '\\"', '\\': '\\\\' });

/** The escapers of one InfluxDB version. */
interface LineEscapers {
  measurement: Escaper;
  /** A tag key or value as written; "" when the tag is to be left out. */
  tag: Escaper;
}

const V1: LineEscapers = { measurement: escapeMeasurement, tag: (value) => tagText(value, escapeTagRawTab) };
const V2_V3: LineEscapers = {
  measurement: escapeMeasurement,
  tag: (value) => tagText(value, escapeTagEscapedTab),
};

function lineEscapers(version: InfluxVersion): LineEscapers {
  return version === 1 ? V1 : V2_V3;
}

function tagText(value: string, escapeTag: Escaper): string {
  if (value === '') return '';
  return escapeTag(value.endsWith('\\') ? `${value} ` : value);
}

/** A string field's value as line protocol writes it: quoted, with `"` and `\` escaped. */
export function quotedField(value: string): string {
  return `"${escapeQuoted(value)}"`;
}

/** An integer field value: `3i`, or `3u` where the schema has an unsigned integer. */
export function integerField(value: number, unsigned = false): string {
  return `${Math.floor(value)}${unsigned ? 'u' : 'i'}`;
}

/** A field already formatted by quotedField or integerField, under its key (keys here are plain names). */
export type FieldEntry = readonly [key: string, value: string];

/** One line of a template: its measurement, the values of its variable tags (in the template's key order), fields, time. */
export type LineWriter = (
  measurement: string,
  variableTags: readonly string[],
  fields: string,
  time: string,
) => string;

/**
 * Lines that share most of their tags: the shared tags are sorted and escaped once, not once per line (a
 * session's detail lines share every tag but three). Tags are written sorted by key, as InfluxDB prefers;
 * a variable tag replaces a fixed tag of the same key; an empty key or value leaves the tag out.
 * `fields` is the field set, already formatted with its keys in sorted order.
 */
export function lineTemplate(
  version: InfluxVersion,
  fixedTags: Readonly<Record<string, string>>,
  variableTagKeys: readonly string[] = [],
): LineWriter {
  const escapers = lineEscapers(version);
  const slotOf = new Map(variableTagKeys.map((key, index) => [key, index]));
  const keys = [...new Set([...Object.keys(fixedTags), ...variableTagKeys])].filter(Boolean).sort();
  // constants[i] comes before slot i; the last constant ends the tag set.
  const constants: string[] = [];
  const slots: Array<{ index: number; prefix: string }> = [];
  let constant = '';
  for (const key of keys) {
    const index = slotOf.get(key);
    if (index !== undefined) {
      constants.push(constant);
      constant = '';
      slots.push({ index, prefix: `,${escapers.tag(key)}=` });
      continue;
    }
    const value = escapers.tag(fixedTags[key] ?? '');
    if (value) constant += `,${escapers.tag(key)}=${value}`;
  }
  constants.push(constant);

  return (measurement, variableTags, fields, time) => {
    let line = escapers.measurement(measurement) + constants[0]!;
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      const value = escapers.tag(variableTags[slot.index] ?? '');
      if (value) line += slot.prefix + value;
      line += constants[i + 1]!;
    }
    return `${line} ${fields} ${time}`;
  };
}

/**
 * A line's timestamp. Every writer of this package writes with nanosecond precision, so that points
 * of one record that share every tag can still be told apart: `offset` nanoseconds are added to the
 * millisecond `ms` (0 <= offset < 1,000,000, so the point stays within its millisecond). Built as text:
 * nanoseconds since 1970 are beyond a double's exact integers.
 */
export function lineTime(ms: number, offset = 0): string {
  if (!Number.isInteger(offset) || offset < 0 || offset >= 1_000_000) {
    throw new RangeError(`a timestamp offset must be an integer from 0 to 999999 ns, not ${offset}`);
  }
  return `${Math.trunc(ms)}${String(offset).padStart(6, '0')}`;
}

/** One line on its own: tags and fields are written sorted by key. `time` is in milliseconds. */
export function formatLine(
  version: InfluxVersion,
  measurement: string,
  tags: Readonly<Record<string, string>>,
  fields: readonly FieldEntry[],
  time: number,
): string {
  const fieldSet = [...fields]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
  return lineTemplate(version, tags)(measurement, [], fieldSet, lineTime(time));
}
