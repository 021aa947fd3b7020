"""linkcheck.facts.kernel: the kernel's own checks of an ELF file, each proven by a real execve of a
file generated here on this machine's kernel (the errno must be exactly the one predicted)."""

from __future__ import annotations

import errno
import os
import platform
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from linkcheck.facts.kernel import exec_refusal
from linkcheck.facts.reader import analyze
from linkcheck.model import ExecError

from conftest import FIXTURE_BIN
from launch import execve_result

DYNAMIC = FIXTURE_BIN / "c-glibc-dynamic"  # x86-64, PT_INTERP /lib64/ld-linux-x86-64.so.2
STATIC = FIXTURE_BIN / "c-glibc-static"

pytestmark = pytest.mark.skipif(
    platform.machine() != "x86_64" or not Path("/lib64/ld-linux-x86-64.so.2").exists(),
    reason="runs x86-64 glibc fixtures with this machine's kernel")


def _phdr(data: bytearray, p_type: int) -> int:
    phoff, = struct.unpack_from("<Q", data, 32)
    phnum, = struct.unpack_from("<H", data, 56)
    for i in range(phnum):
        if struct.unpack_from("<I", data, phoff + 56 * i)[0] == p_type:
            return int(phoff + 56 * i)
    raise AssertionError(f"no program header of type {p_type}")


def _interp_size(size: int) -> Callable[[bytearray], bytearray]:
    def patch(d: bytearray) -> bytearray:
        struct.pack_into("<Q", d, _phdr(d, 3) + 32, size)
        return d
    return patch


def _interp_past_end(d: bytearray) -> bytearray:
    struct.pack_into("<Q", d, _phdr(d, 3) + 8, len(d) - 5)
    return d


def _header(offset: int, fmt: str, value: int) -> Callable[[bytearray], bytearray]:
    def patch(d: bytearray) -> bytearray:
        struct.pack_into(fmt, d, offset, value)
        return d
    return patch


def _many_headers(count: int) -> Callable[[bytearray], bytearray]:
    """The program header table copied to the end of the file and padded with PT_NULL entries (which
    the kernel skips) to ``count`` entries, so that only the table's size can be refused."""
    def patch(d: bytearray) -> bytearray:
        phoff, = struct.unpack_from("<Q", d, 32)
        phnum, = struct.unpack_from("<H", d, 56)
        table = d[phoff : phoff + 56 * phnum] + bytes(56 * (count - phnum))
        at = len(d) + (-len(d) % 8)
        d = d.ljust(at, b"\0") + table
        struct.pack_into("<Q", d, 32, at)
        struct.pack_into("<H", d, 56, count)
        return d
    return patch


# (name, source, patch, errno or None when execve succeeds), in the kernel's order of checks.
CASES: list[tuple[str, Path, Callable[[bytearray], bytearray], int | None]] = [
    ("unchanged", DYNAMIC, lambda d: d, None),
    ("first 40 bytes", DYNAMIC, lambda d: d[:40], errno.ENOEXEC),
    ("first 100 bytes", DYNAMIC, lambda d: d[:100], errno.ENOEXEC),
    ("ET_REL", DYNAMIC, _header(16, "<H", 1), errno.ENOEXEC),
    ("e_phentsize 64", DYNAMIC, _header(54, "<H", 64), errno.ENOEXEC),
    ("e_phnum 0", STATIC, _header(56, "<H", 0), errno.ENOEXEC),
    ("65,576-byte header table", STATIC, _many_headers(1171), errno.ENOEXEC),
    ("65,520-byte header table", STATIC, _many_headers(1170), None),
    ("1-byte PT_INTERP", DYNAMIC, _interp_size(1), errno.ENOEXEC),
    ("PT_INTERP longer than PATH_MAX", DYNAMIC, _interp_size(4097), errno.ENOEXEC),
    ("PT_INTERP without its NUL", DYNAMIC, _interp_size(len("/lib64/ld-linux-x86-64.so.2")), errno.ENOEXEC),
    ("PT_INTERP past the end", DYNAMIC, _interp_past_end, errno.EIO),
]


@pytest.mark.parametrize(("name", "source", "patch", "expected"), CASES, ids=[c[0] for c in CASES])
def test_refusal_is_the_errno_a_real_execve_gives(
    tmp_path: Path, name: str, source: Path, patch: Callable[[bytearray], bytearray], expected: int | None,
) -> None:
    path = tmp_path / "prog"
    path.write_bytes(bytes(patch(bytearray(source.read_bytes()))))
    path.chmod(0o755)
    assert execve_result(str(path))[0] == expected, f"{name}: this kernel does not behave as modelled"
    refusal = exec_refusal(path.read_bytes())
    got = None if refusal is None else getattr(errno, refusal.error.value)
    assert got == expected, refusal
    analysis = analyze(path)  # the same through the public reader, with or without facts
    assert (analysis.kernel_refusal is None) == (expected is None)
    if refusal is not None:
        assert refusal.rule.startswith("fs/binfmt_elf.c ")


def test_strerror_is_what_docker_prints() -> None:
    for error in ExecError:
        assert error.strerror == os.strerror(getattr(errno, error.value)).lower()
