"""linkcheck.verdict.checks.interpreter_refusal: what execve does when the program's interpreter
(PT_INTERP) is in the image but is not a loader it can start. Each case puts something generated here at
the loader's path of a small glibc root and starts the program there for real (chroot + execve on this
machine's kernel); linkcheck must predict the same errno, or that it starts."""

from __future__ import annotations

import errno
import os
import random
import signal
import socket
import stat
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from interpreters import (
    LIBC,
    LOADER,
    available,
    loader_path,
    make_root,
    mutated_loader,
    real_errno,
    real_run,
)

import linkcheck
from linkcheck.model import Outcome

from conftest import FIXTURE_BIN, needs_root

pytestmark = [needs_root, pytest.mark.skipif(
    not available(), reason="starts an x86-64 glibc fixture with this machine's loader")]


def _file(data: bytes, mode: int = 0o755) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.write_bytes(data)
        path.chmod(mode)
    return make


def _patched(offset: int, fmt: str, value: int) -> Callable[[Path], None]:
    data = bytearray(Path(LOADER).read_bytes())
    struct.pack_into(fmt, data, offset, value)
    return _file(bytes(data))


def _socket(path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))


def _loader_bytes(n: int) -> Callable[[Path], None]:
    return lambda path: _file(Path(LOADER).read_bytes()[:n])(path)


# (case, what to put at the loader's path, errno execve fails with or None when the program starts)
CASES: list[tuple[str, Callable[[Path], None], int | None]] = [
    ("the real loader", lambda p: _file(Path(LOADER).read_bytes())(p), None),
    ("execute permission only", lambda p: _file(Path(LOADER).read_bytes(), 0o111)(p), None),
    ("a FIFO", lambda p: os.mkfifo(p), errno.EACCES),
    ("a directory", lambda p: p.mkdir(), errno.EACCES),
    ("a socket", _socket, errno.EACCES),
    ("a character device", lambda p: os.mknod(p, stat.S_IFCHR | 0o666, os.makedev(1, 3)), errno.EACCES),
    ("no execute permission", lambda p: _file(Path(LOADER).read_bytes(), 0o644)(p), errno.EACCES),
    ("an empty file", _file(b""), errno.EIO),
    ("63 bytes of the loader", _loader_bytes(63), errno.EIO),
    ("64 bytes of the loader", _loader_bytes(64), errno.ELIBBAD),
    ("a shell script", _file(b"#!/bin/sh\nexit 0\n" * 8), errno.ELIBBAD),
    ("an aarch64 loader", _patched(18, "<H", 183), errno.ELIBBAD),
    ("an i386 loader", _patched(18, "<H", 3), errno.ELIBBAD),
    ("a 32-bit class byte", _patched(4, "B", 1), None),  # the kernel reads its own layout
    ("e_phentsize 64", _patched(54, "<H", 64), errno.ELIBBAD),
    ("e_phnum 0", _patched(56, "<H", 0), errno.ELIBBAD),
    ("program headers past the end", _patched(32, "<Q", 10**7), errno.ELIBBAD),
]


@pytest.mark.parametrize(("case", "make", "expected"), CASES, ids=[c[0] for c in CASES])
def test_interpreter_refusal_is_the_errno_a_real_execve_gives(
        tmp_path: Path, case: str, make: Callable[[Path], None], expected: int | None) -> None:
    root = make_root(tmp_path)
    # The target is read with its loader intact (a root's machine is told by its loader), then the
    # loader is replaced: its files are read when the program is checked.
    target = linkcheck.load_target(str(root))
    loader_path(root).unlink()
    make(loader_path(root))
    assert real_errno(root) == expected, f"{case}: this kernel does not behave as modelled"
    verdict = linkcheck.check(root / "prog", target)
    if expected is None:
        assert verdict.runs, verdict.to_dict()
        return
    assert not verdict.runs
    assert verdict.outcome is Outcome.MISSING_INTERPRETER
    assert verdict.message == f"exec /app/prog: {os.strerror(expected).lower()}", verdict.message
    assert verdict.problems[0].subject == LOADER
    assert "fs/" in verdict.explanation  # the kernel's check it models is cited


# The same kinds in an image's layer (a tar member), judged through the image's own tree.
IMAGE_CASES: list[tuple[str, tuple[str, str, bytes | str | None], int | None]] = [
    ("the real loader", ("f", LOADER, None), None),
    ("a directory", ("d", LOADER, None), errno.EACCES),
    ("a character device", ("c", LOADER, None), errno.EACCES),
    ("63 bytes of the loader", ("f", LOADER, b"63"), errno.EIO),
    ("a shell script", ("f", LOADER, b"#!/bin/sh\nexit 0\n" * 8), errno.ELIBBAD),
]


@pytest.mark.parametrize(("case", "member", "expected"), IMAGE_CASES, ids=[c[0] for c in IMAGE_CASES])
def test_interpreter_refusal_in_an_image_layer(
        tmp_path: Path, case: str, member: tuple[str, str, bytes | str | None], expected: int | None) -> None:
    from test_archive import docker_save, layer_tar

    assert any(c[0] == case and c[2] == expected for c in CASES), "each kind is proven by a real run above"
    kind, path, content = member
    loader = Path(LOADER).read_bytes()
    if content is None and kind == "f":
        content = loader
    elif content == b"63":
        content = loader[:63]
    base = layer_tar([("d", "lib64", None), ("d", "lib", None), ("d", "lib/x86_64-linux-gnu", None),
                      ("f", LIBC.lstrip("/"), Path(LIBC).read_bytes()), ("f", "bin/probe", loader)])
    top = layer_tar([(kind, path.lstrip("/"), content)])
    image = docker_save(tmp_path / "image.tar", [base, top])
    verdict = linkcheck.check(FIXTURE_BIN / "c-glibc-dynamic", str(image))
    if expected is None:
        assert verdict.runs, verdict.to_dict()
        return
    assert verdict.outcome is Outcome.MISSING_INTERPRETER, verdict.to_dict()
    assert verdict.message == f"exec /app/c-glibc-dynamic: {os.strerror(expected).lower()}"


@settings(max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES") or 40), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1))
def test_mutated_interpreters_are_judged_as_the_kernel_does(tmp_path_factory: pytest.TempPathFactory,
                                                            seed: int) -> None:
    """Header fields the kernel checks, set to interesting values (or the file cut short): refused with
    the errno a real execve gives, or not refused when execve succeeds."""
    from linkcheck.image.rootfs import TreeFiles
    from linkcheck.image.tree import DirectoryTree
    from linkcheck.verdict.checks import interpreter_not_a_loader, interpreter_refusal

    root = make_root(tmp_path_factory.mktemp("interp"))
    program = linkcheck.analyze(root / "prog").elf
    assert program is not None
    data = mutated_loader(random.Random(seed))
    loader_path(root).write_bytes(data)
    view = TreeFiles(DirectoryTree(root)).view(LOADER)
    assert view is not None
    refusal = interpreter_refusal(view, program)
    predicted = None if refusal is None else getattr(errno, refusal.error.value)
    real, killed_by = real_run(root)
    assert predicted == real, (data[:64].hex(), len(data), refusal)
    if refusal is None and interpreter_not_a_loader(view, program) is not None:
        assert killed_by == signal.SIGSEGV, (data[:64].hex(), len(data))


# Interpreters the kernel starts, which are no loader: jumped into unrelocated, they die of SIGSEGV.
CRASHES: list[tuple[str, Callable[[Path], None]]] = [
    ("a program with its own PT_INTERP", lambda p: _file((FIXTURE_BIN / "c-glibc-dynamic").read_bytes())(p)),
    ("an ET_REL loader", _patched(16, "<H", 1)),
]


@pytest.mark.parametrize(("case", "make"), CRASHES, ids=[c[0] for c in CRASHES])
def test_an_interpreter_that_is_no_loader_crashes_as_predicted(
        tmp_path: Path, case: str, make: Callable[[Path], None]) -> None:
    root = make_root(tmp_path)
    target = linkcheck.load_target(str(root))
    loader_path(root).unlink()
    make(loader_path(root))
    assert real_run(root) == (None, signal.SIGSEGV), f"{case}: this kernel does not behave as modelled"
    verdict = linkcheck.check(root / "prog", target)
    assert (verdict.runs, verdict.outcome) == (False, Outcome.MISSING_INTERPRETER), verdict.to_dict()
    assert verdict.message == "" and "SIGSEGV" in verdict.explanation
