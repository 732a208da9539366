#!/usr/bin/env bash
# Installs the locked npm dependencies of the project in the current
# directory: `npm ci`, quietly. If npm refuses the lock file (npm 11 has
# rejected lock files it wrote itself when optional platform packages were
# missing from them, npm/cli#9846), say so in one line and install from the
# same lock with `npm install --no-save`, which does not rewrite it. npm's
# own output is shown only when the fallback fails too.
set -uo pipefail

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if npm ci --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
  exit 0
fi
# The first real error line (npm prints "npm error code EUSAGE", a blank, then the reason, then ~100 lines of usage).
reason=$(awk '/^npm (error|ERR!) / { sub(/^npm (error|ERR!) +/, ""); if ($0 != "" && $0 !~ /^code /) { print; exit } }' "$log" | sed 's/\. .*$/./' | cut -c1-200)
echo "setup: npm ci refused the lock file (${reason:-no reason given}); installing from it with npm install --no-save"
if ! npm install --no-save --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi
