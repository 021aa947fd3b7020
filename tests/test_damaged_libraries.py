"""A damaged library where glibc's search finds it (cut short, not ELF, garbage): the loader stops with
its own words, which linkcheck must predict (``explain.glibc_not_loadable``). Each case is proven by a real
run in a small glibc root (chroot + execve of a program needing the library)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from interpreters import LOADER, available, make_root

import linkcheck
from linkcheck.model import Outcome

from conftest import needs_root
from elfwriter import ElfSpec, Export, Import, write

LIBFOO = write(ElfSpec(soname="libfoo.so.1", exports=(Export("foo"),)))

pytestmark = [needs_root, pytest.mark.skipif(not available(), reason="runs an x86-64 glibc program")]

# (case, the library's bytes, glibc's words)
CASES: list[tuple[str, Callable[[], bytes], str]] = [
    ("7 bytes of text", lambda: b"garbage", "file too short"),
    ("63 bytes of the library", lambda: LIBFOO[:63], "file too short"),
    ("its first 100 bytes", lambda: LIBFOO[:100], "cannot read file data"),
    ("a kilobyte of text", lambda: b"not a library\n" * 80, "invalid ELF header"),
]


@pytest.mark.parametrize(("case", "content", "words"), CASES, ids=[c[0] for c in CASES])
def test_glibc_words_for_a_damaged_library_are_predicted(tmp_path: Path, case: str,
                                                         content: Callable[[], bytes], words: str) -> None:
    root = make_root(tmp_path)
    lib = root / "lib/x86_64-linux-gnu/libfoo.so.1"
    lib.write_bytes(LIBFOO)
    app = root / "app/app"
    app.parent.mkdir()
    app.write_bytes(write(ElfSpec(interp=LOADER, needed=("libc.so.6", "libfoo.so.1"), pie=True,
                                  imports=(Import("foo"),))))
    app.chmod(0o755)
    target = linkcheck.load_target(str(root))
    lib.write_bytes(content())
    expected = f"/app/app: error while loading shared libraries: /lib/x86_64-linux-gnu/libfoo.so.1: {words}"
    real = subprocess.run(["chroot", str(root), "/app/app"], capture_output=True, text=True, check=False,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    assert (real.returncode, real.stderr.strip()) == (127, expected), f"{case}: glibc says otherwise"
    verdict = linkcheck.check(app, target)
    assert verdict.outcome is Outcome.MISSING_LIBRARY
    assert verdict.message == expected
