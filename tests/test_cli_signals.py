"""The command under signals and closed pipes, as CI cancels (SIGTERM), Ctrl-C (SIGINT), a closed terminal
(SIGHUP) and ``| head -1`` deliver them: no process and no temporary file left, documented statuses."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from linkcheck.errors import ExitStatus

from conftest import ROOT

GLIBC_PROGRAM = shutil.which("true") or "/bin/true"


def rootfs_tarball(path: Path, files: int) -> Path:
    """An image archive (a root filesystem tarball) big enough that scanning it takes a moment."""
    script = path.parent / "script"
    script.write_bytes(b"#!/bin/sh\necho\n")
    with tarfile.open(path, "w") as tar:
        for i in range(files):
            tar.add(script, arcname=f"usr/bin/s{i:05d}")
    return path


def workers_of(pid: int) -> set[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    return {int(p) for p in out.split()}


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_stops_the_scan_and_leaves_no_process_and_no_temporary_file(
        tmp_path: Path, signum: signal.Signals) -> None:
    image = rootfs_tarball(tmp_path / "image.tar", 4000)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    command = [sys.executable, "-m", "linkcheck", str(image), "--jobs", "2", "--jsonl"]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT,
                             env={**os.environ, "TMPDIR": str(scratch)})
    workers: set[int] = set()
    deadline = time.monotonic() + 60
    while len(workers) < 2 and child.poll() is None and time.monotonic() < deadline:
        workers = workers_of(child.pid)
        time.sleep(0.02)
    assert len(workers) == 2, "the scan ended before its workers were seen"
    child.send_signal(signum)
    _, err = child.communicate(timeout=30)
    assert child.returncode == 128 + signum, err
    assert b"Traceback" not in err and b"Aborted" not in err
    assert not [w for w in workers if running(w)]
    assert os.listdir(scratch) == []


def many(top: Path, content: bytes, n: int = 3000) -> Path:
    top.mkdir()
    for i in range(n):
        (top / f"f{i:04d}").write_bytes(content)
    return top


@pytest.mark.parametrize(("content", "status"), [
    (b"#!/bin/sh\necho\n", ExitStatus.OK),  # everything read so far runs on alpine
    (None, ExitStatus.WONT_RUN),  # glibc programs on alpine: the status says so, even cut short
])
def test_a_closed_pipe_ends_quietly_with_the_status_of_the_work_so_far(
        tmp_path: Path, content: bytes | None, status: ExitStatus) -> None:
    tree = many(tmp_path / "tree", content if content is not None else Path(GLIBC_PROGRAM).read_bytes(), 300)
    child = subprocess.Popen([sys.executable, "-m", "linkcheck", str(tree), "-t", "alpine", "--jsonl"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert child.stdout is not None and child.stderr is not None
    assert child.stdout.readline().startswith(b"{")
    child.stdout.close()  # as `| head -1` does
    err = child.stderr.read()
    child.stderr.close()
    child.wait(timeout=60)
    assert (child.returncode, err) == (status, b"")
