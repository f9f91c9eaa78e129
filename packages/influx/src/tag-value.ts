/**
 * Line protocol cannot carry every tag value. The client library's Point escapes spaces, commas and
 * equals signs, turns newline, carriage return and tab into the two-character sequences `\n`, `\r`, `\t`,
 * and leaves out tags whose value is empty (InfluxQL then reads them as ""). One value cannot be written
 * at all: InfluxDB refuses a tag value that ends in a backslash ("invalid tag format"), even doubled, and
 * would drop the whole point. We append a space to such a value (`dom\` is stored as `dom\ `).
 * Field values carry every string exactly.
 */
export function tagValue(value: string): string {
  return value.endsWith('\\') ? `${value} ` : value;
}
