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

# The first Debian archive URI of a "deb" entry that is not the security archive.
mirror_from_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                       if ($i !~ /security/) { print $i; exit } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    # deb822: blank-line separated stanzas; take URIs of stanzas whose Types include "deb".
    awk 'BEGIN { RS = ""; FS = "\n" }
         { types = ""; uris = ""
           for (i = 1; i <= NF; i++) {
             if ($i ~ /^Types:/) types = $i
             if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris) }
           }
           if (types ~ /(^|[ \t])deb([ \t]|$)/ && uris != "") {
             n = split(uris, u, /[ \t]+/)
             for (j = 1; j <= n; j++) if (u[j] !~ /security/ && u[j] != "") { print u[j]; exit }
           } }' "$f"
  done
}

mirror=$(mirror_from_sources | head -n 1)
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
