#!/usr/bin/env bash
# The full test run (README's test command): installs what is missing, builds, checks, tests.
# Suites: unit (src/**/*.test.ts), integration (real QEMU 7.2, DPDK testpmd), e2e (code-server + Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "[test] lint and dead code"; npm run -s lint
echo "[test] typecheck"; npx tsc --noEmit -p .
echo "[test] suites";    node scripts/run-tests.mjs "$@"
