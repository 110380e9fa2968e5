#!/usr/bin/env bash
# QEMU 10.0.2 beside the system's QEMU 7.2, and QEMU 10.0.2's source tree with tests/vhost-user-bridge
# built in it, all inside the cache folder. Called by setup.sh; idempotent (each part has a marker
# file named by version). Debian's bookworm-backports suite is read through a private sources list
# and lists folder: the machine's apt configuration is not changed and nothing is installed.
#   usage: setup-qemu10.sh CACHE DEB_VERSION VERSION TARBALL
# Layout:
#   CACHE/apt-backports/{sources,lists}         the private apt view of bookworm-backports
#   CACHE/qemu/VERSION/usr/bin/qemu-system-x86_64, CACHE/qemu/VERSION/usr/share/qemu (firmware, -L)
#   CACHE/meson/                                  meson and pycotap unpacked (the bridge's build needs meson >= 1.5)
#   CACHE/qemu-src/VERSION/                       the source tree (trace-events, C sources, scripts/simpletrace.py)
#   CACHE/qemu-src/VERSION/build/tests/vhost-user-bridge
set -euo pipefail
CACHE=$1 DEB_VERSION=$2 VERSION=$3 TARBALL=$4

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

APT_DIR="$CACHE/apt-backports"
APT_OPTS=(-o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$APT_DIR/sources"
  -o "Dir::State::Lists=$APT_DIR/lists" -o Debug::NoDropPrivs=true -o APT::Sandbox::User=root)
QEMU_DIR="$CACHE/qemu/$VERSION"
SRC_DIR="$CACHE/qemu-src/$VERSION"
MESON_DIR="$CACHE/meson"

apt_view() {
  if [ -f "$APT_DIR/.updated" ] && [ -n "$(find "$APT_DIR/.updated" -mmin -1440 2>/dev/null)" ]; then return; fi
  log "private apt view of bookworm-backports in $APT_DIR"
  mkdir -p "$APT_DIR/sources" "$APT_DIR/lists/partial"
  cat > "$APT_DIR/sources/backports.sources" <<'EOF'
Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  apt-get "${APT_OPTS[@]}" -q update
  touch "$APT_DIR/.updated"
}

# Unpacks the named packages (at DEB_VERSION unless a version is given) into a folder.
unpack_debs() {
  local dest=$1; shift
  local dl
  dl=$(mktemp -d)
  (cd "$dl" && apt-get "${APT_OPTS[@]}" -q download "$@")
  mkdir -p "$dest"
  for f in "$dl"/*.deb; do dpkg-deb -x "$f" "$dest"; done
  rm -rf "$dl"
}

if [ ! -f "$QEMU_DIR/.installed" ]; then
  apt_view
  log "QEMU $VERSION (bookworm-backports, unpacked) into $QEMU_DIR"
  rm -rf "$QEMU_DIR"
  unpack_debs "$QEMU_DIR" "qemu-system-x86=$DEB_VERSION" "qemu-system-data=$DEB_VERSION" "qemu-system-common=$DEB_VERSION"
  "$QEMU_DIR/usr/bin/qemu-system-x86_64" --version | grep -q "version $VERSION" \
    || { echo "setup: $QEMU_DIR/usr/bin/qemu-system-x86_64 does not say version $VERSION" >&2; exit 1; }
  touch "$QEMU_DIR/.installed"
fi

if [ ! -f "$MESON_DIR/.installed" ]; then
  apt_view
  log "meson and pycotap (bookworm-backports, unpacked) into $MESON_DIR"
  rm -rf "$MESON_DIR"
  unpack_debs "$MESON_DIR" meson python3-pycotap
  touch "$MESON_DIR/.installed"
fi

if [ ! -f "$SRC_DIR/.unpacked" ]; then
  apt_view
  log "QEMU $VERSION source tree into $SRC_DIR"
  dl=$(mktemp -d)
  # Only the orig tarball is needed (and served); its checksum comes from the signed Sources index.
  # awk reads apt-cache's whole output (an early exit would end apt-cache by SIGPIPE, and pipefail
  # would take that for a failure).
  want=$(apt-cache "${APT_OPTS[@]}" showsrc qemu | awk -v f="$TARBALL" -v v="$DEB_VERSION" \
    '/^Version:/{ver=$2} /^Checksums-Sha256:/{on=1;next} /^[^ ]/{on=0} on && ver==v && $3==f && sum=="" {sum=$1} END{print sum}')
  [ -n "$want" ] || { echo "setup: no checksum for $TARBALL in bookworm-backports' Sources" >&2; exit 1; }
  (cd "$dl" && apt-get "${APT_OPTS[@]}" -q source --download-only "qemu=$DEB_VERSION" >/dev/null 2>&1 || true)
  [ -f "$dl/$TARBALL" ] || { echo "setup: apt-get source did not fetch $TARBALL" >&2; exit 1; }
  echo "$want  $dl/$TARBALL" | sha256sum -c --quiet -
  rm -rf "$SRC_DIR"
  mkdir -p "$SRC_DIR"
  tar -xf "$dl/$TARBALL" -C "$SRC_DIR" --strip-components=1
  rm -rf "$dl"
  touch "$SRC_DIR/.unpacked"
fi

BRIDGE="$SRC_DIR/build/tests/vhost-user-bridge"
if [ ! -f "$SRC_DIR/.bridge-built" ] || [ ! -x "$BRIDGE" ]; then
  log "tests/vhost-user-bridge from QEMU $VERSION's source (about a minute)"
  meson_py=$(find "$MESON_DIR/usr/lib" -maxdepth 3 -type d -name dist-packages -print -quit)
  rm -rf "$SRC_DIR/build"
  mkdir -p "$SRC_DIR/build"
  # Debian's python3 (meson's and QEMU's configure's target); the +ds tarball lacks firmware blobs
  # and Python wheels, hence no system or user targets and no blob install.
  (cd "$SRC_DIR/build" && PYTHONPATH="$meson_py" PATH="$MESON_DIR/usr/bin:$PATH" ../configure \
    --python=/usr/bin/python3 --disable-system --disable-user --enable-tools --enable-vhost-user \
    --without-default-features --disable-docs --disable-werror --disable-install-blobs >configure.log 2>&1) \
    || { tail -n 30 "$SRC_DIR/build/configure.log" >&2; exit 1; }
  (cd "$SRC_DIR/build" && PYTHONPATH="$meson_py" PATH="$MESON_DIR/usr/bin:$PATH" ninja tests/vhost-user-bridge >ninja.log 2>&1) \
    || { tail -n 30 "$SRC_DIR/build/ninja.log" >&2; exit 1; }
  touch "$SRC_DIR/.bridge-built"
fi
