import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the test kit lives in tests/kit/dist). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export function appMain(app: string): string {
  return path.join(repoRoot, 'apps', app, 'dist', 'main.js');
}

export function tempDir(label: string): string {
  return mkdtempSync(path.join(tmpdir(), `qsm-${label}-`));
}

/** A prefix no other test uses (BullMQ queue prefix, InfluxDB database, MQTT topic root). */
export function uniqueName(label: string): string {
  return `${label}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}
