#!/usr/bin/env bash
# The main job: install and build everything, then open the demo workspace with the extension.
# With a desktop VS Code (`code` on PATH) it opens there; otherwise it serves code-server on
# 127.0.0.1 in the foreground (Ctrl-C stops it). QMW_DEMO_PORT fixes the port.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

if command -v code >/dev/null 2>&1 && [ "${QMW_DEMO_CODE_SERVER:-0}" != 1 ]; then
  QMW_SKIP_CODE_SERVER="${QMW_SKIP_CODE_SERVER:-1}" bash scripts/setup.sh
  exec code --extensionDevelopmentPath="$repo" "$repo/demo"
fi

bash scripts/setup.sh
exec node --import tsx scripts/demo-server.ts
