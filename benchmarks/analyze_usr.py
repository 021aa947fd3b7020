#!/usr/bin/env python3
"""analyze() over every ELF file under a tree, in one process, against pax-utils' scanelf (C), in one run.

The issue's bar: at least 1/4 of scanelf's files per second. Both read the same list of files (found
once, beforehand, by their first four bytes), so the walk is not what is measured; `scanelf -R` over the
whole tree is shown too, for reference. Usage: python benchmarks/analyze_usr.py [--tree /usr] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from linkcheck.errors import LinkcheckError  # noqa: E402
from linkcheck.facts.reader import analyze  # noqa: E402


def elf_files(tree: str) -> list[str]:
    found = []
    for dirpath, _dirs, names in os.walk(tree):
        for name in names:
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            try:
                with open(path, "rb") as f:
                    if f.read(4) == b"\x7fELF":
                        found.append(path)
            except OSError:
                continue
    return sorted(found)


def time_analyze(files: list[str]) -> tuple[float, int]:
    errors = 0
    start = time.perf_counter()
    for path in files:
        try:
            analyze(path)
        except LinkcheckError:
            errors += 1
    return time.perf_counter() - start, errors


def time_cmd(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tree", default="/usr")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    scanelf = shutil.which("scanelf")
    if scanelf is None:
        sys.exit("scanelf not found: apt-get install pax-utils")
    files = elf_files(args.tree)
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as listing:
        listing.write("\n".join(files) + "\n")
    fmt = ["-B", "-F", "%i %n %r %S"]
    ours, theirs, whole = [], [], []
    errors = 0
    for _ in range(args.rounds):
        seconds, errors = time_analyze(files)
        ours.append(seconds)
        theirs.append(time_cmd([scanelf, *fmt, "-f", listing.name]))
        whole.append(time_cmd([scanelf, "-R", *fmt, args.tree]))
    os.unlink(listing.name)
    n = len(files)
    ours_rate = n / statistics.median(ours)
    theirs_rate = n / statistics.median(theirs)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    print(f"{n} ELF files under {args.tree} ({errors} refused as malformed), median of {args.rounds} rounds")
    print(f"linkcheck analyze():      {statistics.median(ours):6.2f} s  {ours_rate:9.0f} files/s")
    print(f"scanelf -f (same files):  {statistics.median(theirs):6.2f} s  {theirs_rate:9.0f} files/s")
    print(f"scanelf -R {args.tree} (walks too): {statistics.median(whole):6.2f} s")
    print(f"ratio: linkcheck reaches {ours_rate / theirs_rate:.2f}x scanelf's files/s (bar: >= 0.25x)")


if __name__ == "__main__":
    main()
