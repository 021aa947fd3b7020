"""scan.py's worker processes: they need no /dev/shm (so leave no semaphore there), a worker that dies
costs one finding, and workers never outlive the process that started them."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from linkcheck.scan import ScanResult, _run

from conftest import ROOT

needs_unshare = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                                   reason="a private mount namespace needs root and unshare")
FILES = 700  # three chunks or more: the scan runs in worker processes


def many_scripts(top: Path, n: int = FILES) -> Path:
    top.mkdir()
    for i in range(n):
        (top / f"s{i:04d}.sh").write_bytes(b"#!/bin/sh\necho\n")
    return top


def in_namespace(shell: str, tree: Path) -> subprocess.CompletedProcess[str]:
    """``shell`` run in a private mount namespace (what it mounts is gone when it ends), with LINKCHECK set
    to the command."""
    linkcheck = f"{sys.executable} -m linkcheck"
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", shell], text=True,
                          capture_output=True, timeout=120, check=False, cwd=ROOT,
                          env={**os.environ, "LINKCHECK": linkcheck, "TREE": str(tree)})


@needs_unshare
def test_a_read_only_dev_shm_does_not_stop_a_parallel_scan(tmp_path: Path) -> None:
    """(multiprocessing's queues and locks need a semaphore there; the workers use none, so none can be
    left behind either.)"""
    tree = many_scripts(tmp_path / "tree")
    done = in_namespace('mount -o remount,bind,ro /dev/shm 2>/dev/null'
                        ' || mount -t tmpfs -o ro none /dev/shm\n'
                        'touch /dev/shm/probe 2>/dev/null && echo "shm writable"\n'
                        '$LINKCHECK "$TREE" --jobs 2 --jsonl', tree)
    assert "shm writable" not in done.stdout  # the constraint is real
    assert "Traceback" not in done.stderr and done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == FILES


class KillsItsWorker:
    """A job whose one file kills the process reading it (as an uncatchable SIGBUS or the OOM killer
    would)."""

    def __init__(self, fatal: str) -> None:
        self.fatal = fatal

    def shown(self, name: str) -> str:
        return f"/tree/{name}"

    def run(self, name: str) -> ScanResult | None:
        if name == self.fatal:
            os.kill(os.getpid(), signal.SIGKILL)
        return ScanResult(self.shown(name), None, None)


def test_a_worker_killed_by_one_file_costs_that_file_only() -> None:
    names = [f"f{i:04d}" for i in range(FILES)]
    results = list(_run(KillsItsWorker("f0300"), iter(names), 2, None))  # type: ignore[arg-type]
    assert [r.path for r in results] == [f"/tree/{n}" for n in names]
    failed = [r for r in results if r.error is not None]
    assert [(r.path, r.error) for r in failed] == [
        ("/tree/f0300", "/tree/f0300: cannot read (reading it stopped the scan worker: SIGKILL)")]


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry))
    return found


def test_workers_exit_when_their_parent_is_killed(tmp_path: Path) -> None:
    tree = many_scripts(tmp_path / "tree", 3000)
    parent = subprocess.Popen([sys.executable, "-m", "linkcheck", str(tree), "--jobs", "2", "--jsonl"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    workers: set[int] = set()
    deadline = time.monotonic() + 30
    while len(workers) < 2 and time.monotonic() < deadline and parent.poll() is None:
        workers = children_of(parent.pid)
        time.sleep(0.01)
    assert len(workers) == 2
    parent.kill()  # SIGKILL: no handler of the parent's runs
    parent.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{w}") for w in workers):
        time.sleep(0.1)
    alive = [w for w in workers if os.path.exists(f"/proc/{w}")
             and Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
    assert alive == []
