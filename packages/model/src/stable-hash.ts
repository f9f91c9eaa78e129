/**
 * FNV-1a over the UTF-16 code units: the same text gets the same number in every process, replica and
 * restart (a schedule offset, a queue shard), which a per-process random seed would not give.
 */
export function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}
