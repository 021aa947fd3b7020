"""Interpreters a program's PT_INTERP may find in an image, and the real execve that judges them: a small
glibc root (this machine's loader and libc, the c-glibc-dynamic fixture as /prog) in which the loader's
path holds something generated (a FIFO, a cut or patched loader ...). Used by
tests/test_interpreter_refusals.py and the "interpreters" class of scripts/fuzz.py."""

from __future__ import annotations

import os
import random
import shutil
import struct
from pathlib import Path

from launch import execve_result

LOADER = "/lib64/ld-linux-x86-64.so.2"
LIBC = "/lib/x86_64-linux-gnu/libc.so.6"
PROGRAM = Path(__file__).resolve().parent.parent / "fixtures" / "bin" / "c-glibc-dynamic"
# The header fields the kernel reads of an interpreter before it maps it: (offset, struct format).
CHECKED_FIELDS = [(0, "<I"), (4, "B"), (5, "B"), (16, "<H"), (18, "<H"), (32, "<Q"), (54, "<H"), (56, "<H")]
INTERESTING = [0, 1, 2, 3, 32, 52, 56, 62, 64, 183, 0x464C457F, 0xFFFF, 1 << 16, 10**7, (1 << 64) - 1]


def available() -> bool:
    return os.geteuid() == 0 and os.path.exists(LOADER) and os.path.exists(LIBC) and PROGRAM.exists() \
        and os.uname().machine == "x86_64"


def make_root(base: Path) -> Path:
    """The root, with the real loader (replace ``loader_path(root)`` to make a case)."""
    root = base / "root"
    (root / "lib64").mkdir(parents=True)
    (root / "lib/x86_64-linux-gnu").mkdir(parents=True)
    shutil.copy(LIBC, root / LIBC.lstrip("/"))
    shutil.copy(LOADER, root / LOADER.lstrip("/"))
    shutil.copy(PROGRAM, root / "prog")
    (root / "prog").chmod(0o755)
    return root


def loader_path(root: Path) -> Path:
    return root / LOADER.lstrip("/")


def real_errno(root: Path) -> int | None:
    """chroot + execve of /prog; None when execve succeeded (whatever the program did next: a patched
    loader may crash; an alarm, kept across execve, ends one that loops)."""
    return real_run(root)[0]


def real_run(root: Path) -> tuple[int | None, int | None]:
    """chroot + execve of /prog: (errno execve failed with, or None; signal that ended the process, or
    None)."""
    return execve_result("/prog", root)


def mutated_loader(rng: random.Random) -> bytes:
    """The real loader with some of the header fields the kernel checks set to interesting values, or
    cut short."""
    data = bytearray(Path(LOADER).read_bytes())
    for _ in range(rng.randint(1, 3)):
        offset, fmt = rng.choice(CHECKED_FIELDS)
        width = struct.calcsize(fmt)
        struct.pack_into(fmt, data, offset, rng.choice(INTERESTING) & ((1 << (8 * width)) - 1))
    if rng.random() < 0.3:
        data = data[: rng.choice([0, 10, 51, 52, 63, 64, 100, 4096, len(data) // 2])]
    return bytes(data)
