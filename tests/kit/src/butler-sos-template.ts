import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './paths.js';

/** Butler SOS's own `production_template.yaml`, as it ships: it must load. */
export const BUTLER_SOS_TEMPLATE = path.join(
  repoRoot,
  'packages/config/test/fixtures/butler-sos-production_template.yaml',
);

/** Butler SOS's template with its <placeholders> filled in, as a user would. */
export function filledButlerSosTemplate(): string {
  return readFileSync(BUTLER_SOS_TEMPLATE, 'utf8')
    .replace('<path/to/cert/client.pem>', 'cert/client.pem')
    .replace('<path/to/cert/client_key.pem>', 'cert/client_key.pem')
    .replace('<path/to/cert/root.pem>', 'cert/root.pem')
    .replaceAll('<server1.my.domain>', 'sense1.lab')
    .replaceAll('<server2.my.domain>', 'sense2.lab')
    .replace('<server1>', 'sense1')
    .replace('<server2>', 'sense2')
    .replaceAll('<description>', 'Central node');
}
