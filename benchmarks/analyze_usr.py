#!/usr/bin/env python3
"""analyze() over every ELF file under a tree, in one process, against pax-utils' scanelf (C), in one run.

Issue 9's bar: at least 1/2 of scanelf's files per second. Both read the same list of files (found once,
beforehand, by their first four bytes), so the walk is not what is measured; `scanelf -R` over the whole
tree is shown too, for reference.

What the page cache holds decides the first round: a file's header was read to list it, but the rest of
it (section headers at its end, the dynamic segment) was not, so whichever tool ran first paid the disk
reads for both (a first round of 2.15 s against 0.6 s warm). So, by default, every file is read whole
once before timing and each tool runs one untimed round (Python's allocator and adaptive interpreter
warm up too): the rounds compare warm against warm. With --cold, each file's cached pages are dropped
(posix_fadvise DONTNEED, no root needed; pages some process has mapped stay) before every timed run of
either tool: cold against cold. Rounds alternate between the tools; medians are shown with CPU time
(ours: this process; scanelf's: its children's rusage) and the load average, since wall time on a
shared machine is noisy. Usage: python benchmarks/analyze_usr.py [--tree /usr] [--rounds 5] [--cold]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
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

BAR = 0.5


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


def read_whole(files: list[str]) -> None:
    for path in files:
        with open(path, "rb") as f:
            while f.read(1 << 20):
                pass


def drop_cached(files: list[str]) -> None:
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def time_analyze(files: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, files refused)."""
    errors = 0
    cpu = time.process_time()
    start = time.perf_counter()
    for path in files:
        try:
            analyze(path)
        except LinkcheckError:
            errors += 1
    return time.perf_counter() - start, time.process_time() - cpu, errors


def time_cmd(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", default="/usr")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cold", action="store_true", help="drop each file's cached pages before every run")
    args = parser.parse_args()
    scanelf = shutil.which("scanelf")
    if scanelf is None:
        sys.exit("scanelf not found: apt-get install pax-utils")
    files = elf_files(args.tree)
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as listing:
        listing.write("\n".join(files) + "\n")
    fmt = ["-B", "-F", "%i %n %r %S"]
    listed = [scanelf, *fmt, "-f", listing.name]
    walked = [scanelf, "-R", *fmt, args.tree]
    load_before = os.getloadavg()
    # Warm-up, untimed: the files' pages, then one round of each tool.
    read_whole(files)
    time_analyze(files)
    time_cmd(listed)
    ours: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    whole: list[float] = []
    errors = 0
    for _ in range(args.rounds):
        if args.cold:
            drop_cached(files)
        wall, cpu, errors = time_analyze(files)
        ours.append((wall, cpu))
        if args.cold:
            drop_cached(files)
        theirs.append(time_cmd(listed))
        whole.append(time_cmd(walked)[0])
    os.unlink(listing.name)
    load_after = os.getloadavg()
    n = len(files)
    ours_wall, ours_cpu = (statistics.median(x) for x in zip(*ours, strict=True))
    theirs_wall, theirs_cpu = (statistics.median(x) for x in zip(*theirs, strict=True))
    cache = ("cold: each file's cached pages dropped before every run" if args.cold
             else "warm: every file read whole, and each tool run once, before timing")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    print(f"load average: {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print(f"{n} ELF files under {args.tree} ({errors} refused as malformed), the same list for both tools")
    print(f"page cache: {cache}; median of {args.rounds} alternating rounds")
    print(f"linkcheck analyze():      {ours_wall:6.3f} s wall {ours_cpu:6.3f} s CPU  "
          f"{n / ours_wall:9.0f} files/s")
    print(f"scanelf -f (same files):  {theirs_wall:6.3f} s wall {theirs_cpu:6.3f} s CPU  "
          f"{n / theirs_wall:9.0f} files/s")
    print(f"scanelf -R {args.tree} (walks too): {statistics.median(whole):6.3f} s wall")
    print(f"ratio: linkcheck reaches {theirs_wall / ours_wall:.2f}x scanelf's files/s by wall time, "
          f"{theirs_cpu / ours_cpu:.2f}x by CPU time (bar: >= {BAR}x)")


if __name__ == "__main__":
    main()
