#!/usr/bin/env bash
# Build a Debian minbase root filesystem (how the official debian:SUITE-slim images start) for the
# chroot tests: scripts/build_debian_root.sh SUITE DIR [PACKAGE...]
# PACKAGEs (a JRE, nodejs, python3 ...) are installed with their dependencies by debootstrap itself.
# The mirror is read from this machine's apt sources (one-line sources.list or deb822 .sources files);
# no mirror is written here. DIR/.complete marks a finished root, so callers can cache it.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 SUITE DIR [PACKAGE...]" >&2
  exit 2
fi
suite=$1
dir=$2
shift 2
include=()
if [ $# -gt 0 ]; then
  include=("--include=$(IFS=,; echo "$*")")
fi

if [ -e "$dir/.complete" ]; then
  exit 0
fi
command -v debootstrap >/dev/null || { echo "$0: debootstrap is not installed" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "$0: debootstrap needs root" >&2; exit 1; }

mirror=$(bash "$(dirname "$0")/debian_mirror.sh")
if [ -z "$mirror" ]; then
  echo "$0: no Debian mirror found in /etc/apt/sources.list*" >&2
  exit 1
fi

work="$dir.partial.$$"
rm -rf "$work"
mkdir -p "$(dirname "$dir")"
trap 'rm -rf "$work"' EXIT
debootstrap --variant=minbase "${include[@]}" "$suite" "$work" "$mirror" >&2
# Nothing of the build machine should stay mounted or referenced inside.
for m in proc sys dev/pts; do
  mountpoint -q "$work/$m" 2>/dev/null && umount "$work/$m" || true
done
rm -rf "$dir"
mv "$work" "$dir"
trap - EXIT
touch "$dir/.complete"
