"""Unreadable things are said to be unreadable (issue 12.9): as an unprivileged user (root reads
whatever the mode), a directory of a tree scan that cannot be listed, a path longer than PATH_MAX, a
target's libc with mode 0600 and an unreadable /lib64 each name the path and the refusal, and the result
is never "runs" (exit 0)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkcheck.errors import ExitStatus

from conftest import FIXTURE_BIN, ROOT

NOBODY = 65534
HOST_LIBDIR = Path("/lib/x86_64-linux-gnu")
HOST_LIBS = ("ld-linux-x86-64.so.2", "libc.so.6")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="dropping to an unprivileged user needs root")
needs_host_glibc = pytest.mark.skipif(not all((HOST_LIBDIR / n).is_file() for n in HOST_LIBS),
                                      reason="needs a Debian x86_64 host glibc")


def _drop() -> None:
    os.setgid(NOBODY)
    os.setgroups([])
    os.setuid(NOBODY)


def run_as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
    site = Path(click.__file__).resolve().parent.parent
    return subprocess.run(["/usr/bin/python3", "-m", "linkcheck", *args], capture_output=True, text=True,
                          timeout=120, check=False, preexec_fn=_drop, cwd="/",
                          env={"PYTHONPATH": f"{ROOT}:{site}", "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"})


@pytest.fixture
def world() -> Iterator[Path]:
    """A directory every user may enter (pytest's tmp_path is private to root)."""
    with tempfile.TemporaryDirectory(dir="/tmp") as where:
        os.chmod(where, 0o755)
        yield Path(where)


def program(path: Path, fixture: str = "c-glibc-dynamic") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FIXTURE_BIN / fixture, path)
    path.chmod(0o755)
    return path


@needs_root
def test_a_directory_a_scan_cannot_list_is_named(world: Path) -> None:
    program(world / "tree" / "ok")
    program(world / "tree" / "secret" / "hidden")
    (world / "tree" / "secret").chmod(0o700)  # root's: nobody cannot list it
    done = run_as_nobody(str(world / "tree"), "--jsonl")
    assert done.returncode != ExitStatus.OK, done.stdout
    assert f"{world}/tree/secret: cannot open (Permission denied)" in done.stdout
    assert f"{world}/tree/ok" in done.stdout  # the rest is still checked


def test_a_path_longer_than_path_max_in_a_scan_is_named(world: Path) -> None:
    tree = world / "tree"
    program(tree / "ok")
    fd = os.open(tree, os.O_DIRECTORY)
    try:
        for _ in range(20):  # 20 x 250 bytes: deeper than PATH_MAX (4096) from the tree's root
            os.mkdir("d" * 250, dir_fd=fd)
            inner = os.open("d" * 250, os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        out = os.open("prog", os.O_WRONLY | os.O_CREAT, 0o755, dir_fd=fd)
        os.write(out, (FIXTURE_BIN / "c-glibc-dynamic").read_bytes())
        os.close(out)
    finally:
        os.close(fd)
    done = subprocess.run([sys.executable, "-m", "linkcheck", str(tree), "--jsonl"],
                          capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)
    assert done.returncode != ExitStatus.OK, done.stdout
    assert "File name too long" in done.stdout
    subprocess.run(["rm", "-rf", str(tree)], check=True)  # rm walks it with openat


def glibc_root(root: Path) -> Path:
    lib = root / "lib" / "x86_64-linux-gnu"
    lib.mkdir(parents=True)
    for name in HOST_LIBS:
        shutil.copyfile(HOST_LIBDIR / name, lib / name)
        (lib / name).chmod(0o755)
    (root / "lib64").mkdir()
    (root / "lib64" / "ld-linux-x86-64.so.2").symlink_to("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
    for d in (root, root / "lib", lib):
        d.chmod(0o755)
    return root


@needs_root
@needs_host_glibc
def test_a_target_libc_nobody_may_read_is_not_an_invalid_elf(world: Path) -> None:
    root = glibc_root(world / "root")
    app = program(world / "app")
    assert run_as_nobody(str(app), "--target", str(root)).returncode == ExitStatus.OK  # the control
    libc = root / "lib" / "x86_64-linux-gnu" / "libc.so.6"
    libc.chmod(0o600)
    done = run_as_nobody(str(app), "--target", str(root))
    assert done.returncode == ExitStatus.ERROR, done.stdout
    assert done.stderr.strip() == f"linkcheck: {libc}: permission denied (cannot tell what is there)"


@needs_root
@needs_host_glibc
def test_an_unreadable_lib64_is_not_a_root_without_a_loader(world: Path) -> None:
    root = glibc_root(world / "root")
    app = program(world / "app")
    (root / "lib64").chmod(0o700)
    done = run_as_nobody(str(app), "--target", str(root))
    assert done.returncode == ExitStatus.ERROR, done.stdout
    assert done.stderr.strip() == (f"linkcheck: {root}/lib64/ld-linux-x86-64.so.2: permission denied "
                                   "(cannot tell what is there)")


def app_needing_libfoo(root: Path, app: Path) -> Path:
    """``app`` needs libc.so.6 and libfoo.so.1, which ``root`` has in its libc's directory."""
    from elfwriter import ElfSpec, Export, Import, write

    lib = root / "lib" / "x86_64-linux-gnu" / "libfoo.so.1"
    lib.write_bytes(write(ElfSpec(soname="libfoo.so.1", exports=(Export("foo"),))))
    lib.chmod(0o755)
    app.write_bytes(write(ElfSpec(interp="/lib64/ld-linux-x86-64.so.2", needed=("libc.so.6", "libfoo.so.1"),
                                  pie=True, imports=(Import("foo"),))))
    app.chmod(0o755)
    return lib


@needs_root
@needs_host_glibc
def test_a_library_nobody_may_read_makes_that_file_cannot_tell(world: Path) -> None:
    """Read during the check (not when the target is loaded): that file's verdict is `unknown`, naming
    the library and the refusal; the other files of the run are still judged; exit 1, not 2."""
    import json

    root = glibc_root(world / "root")
    lib = app_needing_libfoo(root, world / "app")
    static = program(world / "static", "c-glibc-static")
    control = run_as_nobody(str(world / "app"), "--target", str(root))
    assert control.returncode == ExitStatus.OK, control.stdout + control.stderr
    lib.chmod(0o600)
    done = run_as_nobody(str(world / "app"), str(static), "--target", str(root), "--json")
    assert done.returncode == ExitStatus.WONT_RUN, done.stderr
    assert done.stderr == ""
    verdicts = {Path(f["path"]).name: f["verdicts"][0] for f in json.loads(done.stdout)["files"]}
    assert verdicts["static"]["runs"] is True
    unknown = verdicts["app"]
    assert (unknown["runs"], unknown["outcome"]) == (False, "unknown")
    assert unknown["problems"][0]["detail"] == f"{lib}: permission denied"
    text = run_as_nobody(str(world / "app"), "--target", str(root))
    assert text.returncode == ExitStatus.WONT_RUN
    assert "CANNOT TELL (unknown)" in text.stdout and "docker:" not in text.stdout


@needs_host_glibc
def test_a_library_too_large_to_read_makes_that_file_cannot_tell(tmp_path: Path) -> None:
    """A library linkcheck will not read (over 1 GiB: a sparse file here) is not "no library there"."""
    import linkcheck

    root = glibc_root(tmp_path / "root")
    lib = app_needing_libfoo(root, tmp_path / "app")
    target = linkcheck.load_target(str(root))
    with open(lib, "r+b") as f:
        f.truncate((1 << 30) + 4096)
    verdict = linkcheck.check(tmp_path / "app", target)
    assert (verdict.runs, verdict.outcome.value) == (False, "unknown"), verdict.to_dict()
    assert verdict.problems[0].subject == "/lib/x86_64-linux-gnu/libfoo.so.1"
    assert "too large" in verdict.problems[0].detail


@needs_host_glibc
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_target_files_failing_to_read_never_raise_and_never_run(data: st.DataObject) -> None:
    """Any of a target's files failing with EIO or permission denied when the check reads it: the check
    never raises, and a file whose libc could not be read is `unknown`, never `runs`."""
    import dataclasses
    import errno

    import linkcheck
    from linkcheck.errors import UnreadableError
    from linkcheck.image.rootfs import TreeFiles
    from linkcheck.image.tree import Buffer, DirectoryTree

    files = [f"/lib/x86_64-linux-gnu/{name}" for name in HOST_LIBS]
    failing = data.draw(st.sets(st.sampled_from(files)))
    denied = data.draw(st.booleans())
    where = Path(tempfile.mkdtemp())
    root = glibc_root(where / "root")
    app = program(where / "app")

    class Failing(DirectoryTree):
        def read(self, path: str) -> Buffer:
            if path in failing:
                if denied:
                    raise UnreadableError(self.host_path(path), "permission denied")
                raise OSError(errno.EIO, "Input/output error", path)
            return super().read(path)

    target = linkcheck.load_target(str(root))
    target = dataclasses.replace(target, files=TreeFiles(Failing(root)))
    verdict = linkcheck.check(app, target)
    shutil.rmtree(where)
    if "/lib/x86_64-linux-gnu/libc.so.6" in failing:
        assert verdict.outcome.value == "unknown", verdict.to_dict()
