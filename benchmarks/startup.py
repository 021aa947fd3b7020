#!/usr/bin/env python3
"""CLI start-up: median wall time of `linkcheck FILE` against a bare interpreter, in one run.

The issue's bar: at most 6x `python3 -c pass`. Commands are interleaved round by round so that machine
noise hits all of them alike. Usage: python benchmarks/startup.py [--rounds 30] [FILE]
"""

from __future__ import annotations

import argparse
import compileall
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("file", nargs="?", default=str(ROOT / "fixtures/bin/c-glibc-dynamic"))
    args = parser.parse_args()
    py = sys.executable
    # Users run from byte-compiled modules (pip compiles on install); this machine sets
    # PYTHONDONTWRITEBYTECODE, so compile once here rather than measure the compiler.
    compileall.compile_dir(str(ROOT / "linkcheck"), quiet=1)
    commands = {
        "python -c pass": [py, "-c", "pass"],
        "python -c 'import click'": [py, "-c", "import click"],
        "linkcheck FILE --static": [py, "-m", "linkcheck", args.file, "--static"],
        "linkcheck FILE --target alpine": [py, "-m", "linkcheck", args.file, "--target", "alpine"],
        "linkcheck FILE (matrix)": [py, "-m", "linkcheck", args.file],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for cmd in commands.values():  # warm the page cache once
        wall(cmd)
    for _ in range(args.rounds):
        for name, cmd in commands.items():
            times[name].append(wall(cmd))
    base = statistics.median(times["python -c pass"])
    cpu = platform.processor() or platform.platform()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {cpu}")
    print(f"python {platform.python_version()}, {args.rounds} rounds, file {args.file}")
    for name, samples in times.items():
        med = statistics.median(samples)
        print(f"{name:<34} median {med * 1000:7.1f} ms   {med / base:5.2f}x python -c pass")


if __name__ == "__main__":
    main()
