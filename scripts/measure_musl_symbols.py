#!/usr/bin/env python3
"""Measure the symbols musl's loader (which is also its libc) defines, from real root filesystems, into
linkcheck/image/musl_symbols.json, so that built-in musl targets judge imports as directory targets do.

    measure_musl_symbols.py ROOT_TARBALL_OR_DIR[::ORIGIN]... [-o linkcheck/image/musl_symbols.json]

Each root is read with linkcheck's own reader (never executed): its musl version from the apk database,
its machine, and the dynamic symbols of /lib/ld-musl-ARCH.so.1 that musl's symbol lookup accepts (defined,
default version, not IFUNC). ORIGIN says where the root came from; it is recorded in the data with the
file's name and SHA-256. Run on 2026-12-01 over ../shared/rootfs/alpine-3.20.3-{x86_64,aarch64}.tar.gz
(musl 1.2.5) and the alpine-minirootfs-3.18.9 (musl 1.2.4) and 3.19.4 (musl 1.2.4_git20230717) tarballs
of alpinelinux/docker-alpine's v3.18 and v3.19 branches, x86_64 and aarch64.

The LFS64 names (fopen64 -> fopen ..., linkcheck.verdict.checks.MUSL_LFS64_BASES) are checked against each
root: every base name must be defined by its loader; whether the 64 names are exported is reported (musl
1.2.4 still exports them; 1.2.4_git20230717 and 1.2.5 no longer do, and their loaders map them).

Nothing here is imported by linkcheck; it only writes the data file.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
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
    if missing:
        sys.exit(f"{root}: LFS64 check: base names not defined by musl: {missing}")
    exported64 = sum(f"{b}64" in lib.exports for b in LFS64_BASES)
    print(f"{root}: musl {target.libc_version} {target.machine}: {len(names)} symbols, "
          f"{exported64} of {len(LFS64_BASES)} LFS64 names exported", file=sys.stderr)
    return target.libc_version, target.machine, names


def _sha256(path: str) -> str:
    if not os.path.isfile(path):
        return ""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return f", sha256 {h.hexdigest()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("roots", nargs="+")
    parser.add_argument("-o", "--out", default="linkcheck/image/musl_symbols.json")
    args = parser.parse_args()
    today = datetime.date.today().isoformat()
    versions: dict[str, dict[str, object]] = {}
    for arg in args.roots:
        root, _, origin = arg.partition("::")
        version, machine, names = measure(root)
        named = os.path.basename(root.rstrip("/")) + (f" ({origin}{_sha256(root)})" if origin else "")
        versions.setdefault(version, {})[machine] = {
            "source": {"how": "measured",
                       "where": f"{named}: the dynamic symbols of /lib/ld-musl-*.so.1 that musl's lookup "
                                "accepts (defined, default version, not IFUNC)",
                       "date": today},
            "symbols": names,
        }
    doc = {
        "format": "linkcheck-musl-symbols/1",
        "versions": versions,
        "lfs64": {
            "since": "1.2.4",
            "source": {"how": "documented",
                       "where": ("musl ldso/dynlink.c (get_lfs64): an unresolved NAME64 in the list resolves "
                                 "to musl's NAME, readdir64_r to readdir_r. Measured: musl 1.2.4 (alpine "
                                 "3.18.9) still exports the NAME64 symbols itself; 1.2.4_git20230717 (alpine "
                                 "3.19.4) and 1.2.5 (alpine 3.20.3) export none and map them"),
                       "date": today},
            "names": list(LFS64_BASES),
        },
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
