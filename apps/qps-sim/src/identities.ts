/**
 * User directories and ids that break naive line protocol, topic and CSV handling. Real Qlik sites
 * have user ids with spaces, commas, quotes and non-Latin scripts; the rest probe escaping.
 */
export const HOSTILE_USER_IDS: readonly string[] = [
  'user with spaces',
  'comma,user',
  'equals=user',
  'double"quote',
  "single'quote",
  'back\\slash',
  'trailing\\',
  'new\nline',
  'tab\tuser',
  'emoji 😀 user',
  'ünïcödé Łódź 東京',
  '',
  'x'.repeat(300),
  '#hash+plus/slash',
  ' leading and trailing ',
];

export const HOSTILE_DIRECTORIES: readonly string[] = [
  'LAB',
  'dir with space',
  'dir,comma',
  'dir=eq',
  'dir"quote',
  'dir\\back',
  '',
  'ДОМЕН',
];

export const PLAIN_DIRECTORIES: readonly string[] = ['LAB', 'CORP', 'SALES'];

export function plainUserId(index: number): string {
  return `user${String(index + 1).padStart(4, '0')}`;
}
