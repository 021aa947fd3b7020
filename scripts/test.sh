#!/usr/bin/env bash
# Set up a fresh Debian 12 machine for linkcheck's tests and run them (README's test command).
# Installs, when missing and when root: musl's loader and a static busybox, which the tests copy into
# small root filesystems to run fixtures with chroot; readelf (binutils) as an independent reader; Go and
# gcc to build the runtime-finding fixtures; docker-registry, skopeo and openssl for the registry tests (a
# registry on 127.0.0.1, a token service).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v readelf >/dev/null || need+=(binutils)
# gcc builds small programs in the tests (IFUNCs, lazy binding, symbol versions) read against readelf.
command -v gcc >/dev/null || need+=(gcc libc6-dev)
[ -e /lib/ld-musl-x86_64.so.1 ] || need+=(musl)
[ -x /bin/busybox ] || need+=(busybox-static)
# The output-encoding tests run the CLI under en_US.UTF-8 (a C locale hides encoding errors).
has_locale() { locale -a 2>/dev/null | grep -qix 'en_US\.utf-\?8'; }
has_locale || [ -x /usr/sbin/locale-gen ] || need+=(locales)
# The runtime-finding tests build Go and C fixtures (fixtures/afterstart.sh, glibc and musl), serve TLS with
# an openssl-made test CA, and copy the host's libz.so.1 and Europe/Berlin zone into roots.
command -v go >/dev/null || need+=(golang-go)
command -v musl-gcc >/dev/null || need+=(musl-tools)
command -v openssl >/dev/null || need+=(openssl)
[ -e /usr/lib/x86_64-linux-gnu/libz.so.1 ] || need+=(zlib1g)
[ -e /usr/share/zoneinfo/Europe/Berlin ] || need+=(tzdata)
# The registry tests run Debian's docker-registry on the loopback interface and push to it with skopeo.
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v skopeo >/dev/null || need+=(skopeo)
# The slow tests build Debian roots with debootstrap.
[ "${LINKCHECK_SLOW:-}" != 1 ] || command -v debootstrap >/dev/null || need+=(debootstrap)
# Java fixtures are compiled with javac; Node.js addons with g++ against Node's headers, npm packages
# installed with npm (a musl dlopen probe is built with musl-gcc, installed above).
command -v javac >/dev/null || need+=(openjdk-17-jdk-headless)
command -v g++ >/dev/null || need+=(g++)
[ "${LINKCHECK_SLOW:-}" != 1 ] || command -v npm >/dev/null || need+=(npm)
[ -e /usr/include/node/node.h ] || need+=(libnode-dev)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "test.sh: not root; tests needing ${need[*]} will be skipped" >&2
  fi
fi
if ! has_locale && [ "$(id -u)" = 0 ] && [ -x /usr/sbin/locale-gen ]; then
  sed -i 's/^# *\(en_US\.UTF-8 UTF-8\)/\1/' /etc/locale.gen
  grep -q '^en_US\.UTF-8 UTF-8' /etc/locale.gen || echo 'en_US.UTF-8 UTF-8' >> /etc/locale.gen
  locale-gen >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e '.[test,dev]'
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
