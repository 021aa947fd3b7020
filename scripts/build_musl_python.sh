#!/usr/bin/env bash
# Build a CPython that runs on musl, for the tests that import extension modules with a real musl python
# in the real alpine root: scripts/build_musl_python.sh DIR
# No musl python can be installed here (Alpine's package repository is not reachable), so this builds
# the source of this machine's own python3 (Debian's python3.X source package, fetched with apt-get from
# the mirror in this machine's apt sources) with musl-gcc (Debian's musl-tools), installed under
# DIR/usr/local. DIR/.complete marks a finished build, so callers can cache it.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dir=$1
[ -e "$dir/.complete" ] && exit 0
command -v musl-gcc >/dev/null || { echo "$0: musl-gcc is not installed (apt-get install musl-tools)" >&2; exit 1; }
command -v apt-get >/dev/null || { echo "$0: apt-get is needed to fetch the source" >&2; exit 1; }
. /etc/os-release
suite=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}
# Debian's own python3 names the source package (another python3 on PATH, pyenv's, may be another version).
python=/usr/bin/python3
[ -x "$python" ] || python=python3
package=python3.$("$python" -c 'import sys; print(sys.version_info[1])')
mirror=$(bash "$(dirname "$0")/debian_mirror.sh")
[ -n "$mirror" ] || { echo "$0: no Debian mirror found in /etc/apt/sources.list*" >&2; exit 1; }

work="$dir.partial.$$"
rm -rf "$work"
mkdir -p "$work/apt/lists/partial" "$work/apt/parts" "$work/apt/cache"
trap 'rm -rf "$work"' EXIT
# A private apt state with only the source index: the machine's own apt configuration is left alone.
printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' "$mirror" "$suite" \
  /usr/share/keyrings/debian-archive-keyring.gpg > "$work/apt/parts/src.sources"
apt_opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$work/apt/parts"
          -o "Dir::State::Lists=$work/apt/lists" -o "Dir::Cache=$work/apt/cache" -o "APT::Sandbox::User=root")
apt-get "${apt_opts[@]}" -qq update >&2
(cd "$work" && apt-get "${apt_opts[@]}" -qq source --download-only "$package" >&2)
tar -xzf "$work"/"${package}"_*.orig.tar.gz -C "$work"
src=$(find "$work" -maxdepth 1 -type d -name 'Python-*' | head -n 1)

# Debian's gcc names glibc's multiarch triplet, which CPython's configure checks against the one it
# derives for musl (x86_64-linux-musl): a wrapper gives musl's.
triplet="$(uname -m)-linux-musl"
printf '#!/bin/sh\nfor a in "$@"; do [ "$a" = --print-multiarch ] && { echo %s; exit 0; }; done\nexec musl-gcc "$@"\n' \
  "$triplet" > "$work/cc"
chmod +x "$work/cc"
(cd "$src" && ./configure CC="$work/cc" OPT="-O1" --prefix=/usr/local --disable-test-modules \
   --without-ensurepip >&2 && make -j"$(nproc)" >&2 && make install DESTDIR="$work/out" >&2)
rm -rf "$dir"
mv "$work/out" "$dir"
touch "$dir/.complete"
