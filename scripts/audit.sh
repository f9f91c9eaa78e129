#!/usr/bin/env bash
# Dependency audit for CI: `pnpm audit --prod` against the npm advisory database.
# - Findings of severity high or critical fail, unless listed with an explanation in scripts/audit-known.json.
# - When the advisory endpoint cannot be reached (offline machines, proxies that refuse it), the audit says
#   so in one line and does not fail the build: it has not found anything, it has not run.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

out="$(pnpm audit --prod --json 2>&1)"
status=$?
if [ $status -ne 0 ] && ! printf '%s' "$out" | grep -q '"advisories"'; then
  if printf '%s' "$out" | grep -Eq 'ERR_PNPM_AUDIT_BAD_RESPONSE|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|responded with'; then
    echo "audit: the advisory endpoint is not reachable from this machine ($(printf '%s' "$out" | grep -Eo 'responded with [0-9]+|E[A-Z_]+' | head -1)); audit not run"
    exit 0
  fi
  printf '%s\n' "$out"
  exit $status
fi
printf '%s' "$out" | node scripts/audit-check.mjs scripts/audit-known.json
