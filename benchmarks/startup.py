#!/usr/bin/env python3
"""CLI start-up as users get it: the installed `linkcheck` command against a bare interpreter, in one run.

Method (issue 8): the package is built into a wheel and installed, NOT editable and byte-compiled (as pip
installs it), into a temporary venv of this same interpreter; the baseline is that venv's `python -c pass`
(the same binary the `linkcheck` script runs on, no shell in front of either). Commands are interleaved
round by round so machine noise hits all alike; after one warm-up round, the median of ``--rounds`` (>= 15)
rounds is printed for each, as a ratio to the baseline and as milliseconds added to it.

Floors: `linkcheck FILE --target alpine` <= 5x, `linkcheck FILE` (matrix of built-in images) <= 6x.

Then, for each linkcheck command, where its CPU time goes (median of 5 fresh interpreters of the same
venv): click's import, the import of the linkcheck modules the command loads (and how many frozen
dataclasses they create, with the time spent creating them), and the work itself with every module loaded.

Usage: python benchmarks/startup.py [--rounds 30] [FILE]
"""

from __future__ import annotations

import argparse
import compileall
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOORS = {"linkcheck FILE --target alpine": 5.0, "linkcheck FILE (matrix)": 6.0}


def wall(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds used by the process): CPU time shows the cost when a busy machine
    stretches wall times."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


def install(venv: Path) -> Path:
    """A fresh venv of this interpreter with linkcheck installed from a wheel by its pip (not editable,
    byte-compiled), and click copied in from this environment (no registry is asked). Returns its python."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    wheels = venv / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "-w", str(wheels), str(ROOT)], check=True)
    [wheel] = wheels.glob("elf_linkcheck-*.whl")
    # pip compiles the installed modules, as it does for users; --no-index: nothing is fetched.
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True)
    import click

    shutil.copytree(Path(click.__file__).parent, site / "click")
    for dist in Path(click.__file__).parent.parent.glob("click-*.dist-info"):
        shutil.copytree(dist, site / dist.name)
    compileall.compile_dir(str(site / "click"), quiet=1)
    return py


# Run in a fresh interpreter of the benchmark's venv: prints (on stderr) the linkcheck modules a call loads.
_MODULES = """
import sys
from linkcheck.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(" ".join(m for m in sys.modules if m.startswith("linkcheck")), file=sys.stderr)
"""

# Then: CPU time of importing click, of importing those modules (counting the dataclasses created and the
# time in dataclasses' class processing), and of the command with everything imported (caches cold).
_SPLIT = """
import dataclasses, json, os, sys, time
made = []
process = dataclasses._process_class
def counted(cls, *args, **kwargs):
    start = time.process_time()
    try:
        return process(cls, *args, **kwargs)
    finally:
        made.append(time.process_time() - start)
dataclasses._process_class = counted
t0 = time.process_time()
import click
t1 = time.process_time()
import importlib
for name in sys.argv[1].split():
    importlib.import_module(name)
t2 = time.process_time()
from linkcheck.cli import main
sys.stdout = open(os.devnull, "w")
try:
    main(sys.argv[2:])
except SystemExit:
    pass
t3 = time.process_time()
print(json.dumps([t1 - t0, t2 - t1, len(made), sum(made), t3 - t2]), file=sys.stderr)
"""


def breakdown(py: Path, args: list[str], env: dict[str, str]) -> str:
    """One line: where a command's CPU time goes (see the module's docstring)."""
    import json

    names = subprocess.run([str(py), "-c", _MODULES, *args], capture_output=True, text=True, env=env,
                           check=True).stderr.splitlines()[-1].split()
    samples = []
    for _ in range(5):
        out = subprocess.run([str(py), "-c", _SPLIT, " ".join(names), *args], capture_output=True, text=True,
                             env=env, check=True).stderr
        samples.append(json.loads(out.strip().splitlines()[-1]))
    columns = zip(*samples, strict=True)
    click_s, imports_s, made, made_s, work_s = (statistics.median(column) for column in columns)
    return (f"import click {click_s * 1000:.1f} ms; {len(names)} linkcheck modules {imports_s * 1000:.1f} ms "
            f"({made:.0f} dataclasses created in {made_s * 1000:.1f} ms of it); the work itself "
            f"{work_s * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("file", nargs="?", default=str(ROOT / "fixtures/bin/c-glibc-dynamic"))
    args = parser.parse_args()
    rounds = max(15, args.rounds)
    with tempfile.TemporaryDirectory(prefix="linkcheck-startup-") as where:
        venv = Path(where) / "venv"
        py = install(venv)
        lc = str(venv / "bin" / "linkcheck")
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
        commands = {
            "python -c pass": [str(py), "-c", "pass"],
            "python -c 'import click'": [str(py), "-c", "import click"],
            "linkcheck FILE --static": [lc, args.file, "--static"],
            "linkcheck FILE --target alpine": [lc, args.file, "--target", "alpine"],
            "linkcheck FILE (matrix)": [lc, args.file],
        }
        os.environ.clear()
        os.environ.update(env)
        where_from = subprocess.run([lc, "--version"], capture_output=True, text=True, check=True).stdout
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for cmd in commands.values():  # warm-up: page cache, and a check that each command works
            wall(cmd)
        for _ in range(rounds):
            for name, cmd in commands.items():
                took, used = wall(cmd)
                times[name].append(took)
                cpu[name].append(used)
        split = {name: breakdown(py, cmd[1:], env) for name, cmd in commands.items() if cmd[0] == lc}
    base = statistics.median(times["python -c pass"])
    base_cpu = statistics.median(cpu["python -c pass"])
    model = platform.processor() or platform.platform()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {model}; load average "
          f"{os.getloadavg()[0]:.2f}")
    print(f"python {platform.python_version()} ({sys.executable}), {where_from.strip()} installed from a "
          f"wheel, byte-compiled; {rounds} interleaved rounds after a warm-up; file {args.file}")
    print(f"{'':<32} {'wall median':>12} {'ratio':>6} {'added':>9}   {'CPU median':>10} {'ratio':>6}")
    failed = False
    for name, samples in times.items():
        med = statistics.median(samples)
        med_cpu = statistics.median(cpu[name])
        ratio = med / base
        floor = FLOORS.get(name)
        verdict = "" if floor is None else f"  floor {floor:.0f}x: {'ok' if ratio <= floor else 'MISSED'}"
        failed = failed or (floor is not None and ratio > floor)
        print(f"{name:<32} {med * 1000:9.1f} ms {ratio:5.2f}x {(med - base) * 1000:+7.1f} ms"
              f"   {med_cpu * 1000:7.1f} ms {med_cpu / base_cpu:5.2f}x{verdict}")
    print("CPU time, in fresh interpreters (medians of 5):")
    for name, line in split.items():
        print(f"  {name}: {line}")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
