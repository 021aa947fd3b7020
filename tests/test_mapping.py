"""A file truncated by another process while it is parsed is never a SIGBUS (exit 135): the truncation
waits for the read lease, or the parse reads a private copy."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import click
import pytest

from conftest import ROOT
from elfwriter import ElfSpec, write

NOBODY = 65534

# Run in a child: a SIGBUS would kill the test process. parse_elf is wrapped so that another process asks
# to truncate the file after the reader got its bytes and before any page past the new end is touched;
# the wrapper then touches the last byte, as a parser reading a symbol table at the end would.
CHILD = textwrap.dedent("""
    import os, subprocess, sys, time
    from linkcheck.facts import reader
    path = sys.argv[1]
    real = reader.parse_elf
    def parse_while_truncated(data, name, *more):
        cut = subprocess.Popen([sys.executable, "-c", f"import os; os.truncate({path!r}, 0)"])
        # Until the truncation is done, or for 3 s (it started and waits for the lease: a loaded
        # machine may take a second to start the truncating process).
        deadline = time.monotonic() + 3
        while cut.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        print("truncated during the read:", cut.poll() is not None and os.path.getsize(path) == 0)
        data[len(data) - 1]
        print("last byte read")
        return real(data, name, *more)
    if sys.argv[2] == "analyze":
        reader.parse_elf = parse_while_truncated
        facts = reader.analyze(path)
        print("interpreter:", facts.elf.interpreter)
    else:  # the runtime needs, read again from the file once its facts are known
        from linkcheck.facts import needs
        elf = reader.analyze(path).elf
        real = needs.needs_of
        needs.needs_of = parse_while_truncated
        got = needs.read_needs(path, elf)
        print("interpreter:", elf.interpreter, got.warnings)
""")


def big_elf(path: Path) -> None:
    data = write(ElfSpec(interp="/lib64/ld-linux-x86-64.so.2", needed=("libc.so.6",)))
    path.write_bytes(data + bytes((1 << 20) - len(data)))  # bigger than one read: it is mapped


def run_child(path: Path, as_nobody: bool, reading: str = "analyze") -> subprocess.CompletedProcess[str]:
    site = Path(click.__file__).resolve().parent.parent

    def drop() -> None:
        os.setgid(NOBODY)
        os.setgroups([])
        os.setuid(NOBODY)

    # Another user cannot run this checkout's venv: the system interpreter, with the same packages.
    python = "/usr/bin/python3" if as_nobody else sys.executable
    return subprocess.run([python, "-c", CHILD, str(path), reading], capture_output=True, text=True, cwd="/",
                          timeout=60, check=False, preexec_fn=drop if as_nobody else None,
                          env={"PYTHONPATH": f"{ROOT}:{site}", "PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize("reading", ["analyze", "read_needs"])
def test_a_truncation_waits_until_the_owner_has_read_the_file(tmp_path: Path, reading: str) -> None:
    path = tmp_path / "prog"
    big_elf(path)
    done = run_child(path, as_nobody=False, reading=reading)
    assert done.returncode == 0, (done.returncode, done.stderr)  # -7 is SIGBUS
    assert "truncated during the read: False" in done.stdout
    assert "interpreter: /lib64/ld-linux-x86-64.so.2" in done.stdout
    # The truncation was only deferred: it happened once the reader let go.
    for _ in range(100):
        if path.stat().st_size == 0:
            break
        subprocess.run(["sleep", "0.05"], check=True)
    assert path.stat().st_size == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the reader as another user")
def test_a_file_the_reader_cannot_lease_is_read_from_a_copy() -> None:
    with tempfile.TemporaryDirectory(dir="/tmp") as where:  # pytest's own tmp_path is private to root
        os.chmod(where, 0o755)
        path = Path(where) / "prog"
        big_elf(path)
        path.chmod(0o666)  # root's file: nobody may read it, and (the truncating child) cut it
        done = run_child(path, as_nobody=True)
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert "truncated during the read: True" in done.stdout
    assert "interpreter: /lib64/ld-linux-x86-64.so.2" in done.stdout
