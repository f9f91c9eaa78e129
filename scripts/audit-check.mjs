// Reads `pnpm audit --json` on stdin; fails on high/critical advisories not explained in the known list.
import { readFileSync } from 'node:fs';

const known = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const report = JSON.parse(readFileSync(0, 'utf8'));
const advisories = Object.values(report.advisories ?? {});
let failing = 0;
for (const advisory of advisories) {
  const explained = known.find((k) => k.id === advisory.github_advisory_id || k.id === String(advisory.id));
  const serious = advisory.severity === 'high' || advisory.severity === 'critical';
  const line = `${advisory.severity} ${advisory.module_name} ${advisory.github_advisory_id ?? advisory.id}: ${advisory.title}`;
  if (explained) console.log(`audit: known, ${line} (${explained.why})`);
  else if (serious) {
    console.log(`audit: NEW ${line} ${advisory.url ?? ''}`);
    failing++;
  } else console.log(`audit: ${line}`);
}
console.log(`audit: ${advisories.length} advisories, ${failing} new high/critical`);
process.exit(failing > 0 ? 1 : 0);
