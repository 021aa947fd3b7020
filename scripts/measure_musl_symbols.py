#!/usr/bin/env python3
"""Measure the symbols musl's loader (which is also its libc) defines, from real root filesystems, into
linkcheck/image/musl_symbols.json, so that built-in musl targets judge imports as directory targets do.

    measure_musl_symbols.py ROOT_TARBALL_OR_DIR... [-o linkcheck/image/musl_symbols.json]

Each root is read with linkcheck's own reader (never executed): its musl version from the apk database,
its machine, and the dynamic symbols of /lib/ld-musl-ARCH.so.1 that musl's symbol lookup accepts (defined,
default version, not IFUNC). Run on 2026-12-01 over ../shared/rootfs/alpine-3.20.3-{x86_64,aarch64}.tar.gz.

The LFS64 names musl >= 1.2.4 maps in its loader (fopen64 -> fopen ..., linkcheck.verdict.checks.
MUSL_LFS64_BASES) are checked against each root: every base name defined by its loader, no 64 name
exported.

Nothing here is imported by linkcheck; it only writes the data file.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys

from linkcheck.verdict.checks import MUSL_LFS64_BASES as LFS64_BASES


def measure(root: str) -> tuple[str, str, list[str]]:
    from linkcheck.image.target import load_target
    from linkcheck.model import Libc

    target = load_target(root)
    if target.libc is not Libc.MUSL or not target.libc_version:
        sys.exit(f"{root}: not a musl root with a recorded musl version")
    loader = next(p for p in target.loaders if os.path.basename(p).startswith("ld-musl"))
    lib = target.files.library(loader)
    if lib is None or lib.exports is None:
        sys.exit(f"{root}: {loader} cannot be read")
    names = sorted(n for n in lib.exports if "@" not in n and n not in lib.ifuncs)
    missing = [b for b in LFS64_BASES if b not in lib.exports]
    exported64 = [f"{b}64" for b in LFS64_BASES if f"{b}64" in lib.exports]
    if missing or exported64:
        print(f"{root}: LFS64 check: bases not defined {missing}, 64 names exported {exported64}",
              file=sys.stderr)
    return target.libc_version, target.machine, names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("roots", nargs="+")
    parser.add_argument("-o", "--out", default="linkcheck/image/musl_symbols.json")
    args = parser.parse_args()
    today = datetime.date.today().isoformat()
    versions: dict[str, dict[str, object]] = {}
    for root in args.roots:
        version, machine, names = measure(root)
        versions.setdefault(version, {})[machine] = {
            "source": {"how": "measured",
                       "where": f"{os.path.basename(root.rstrip('/'))}: the dynamic symbols of "
                                "/lib/ld-musl-*.so.1 that musl's lookup accepts (defined, default version, "
                                "not IFUNC)",
                       "date": today},
            "symbols": names,
        }
    doc = {
        "format": "linkcheck-musl-symbols/1",
        "versions": versions,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
