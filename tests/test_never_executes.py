"""linkcheck never executes what it inspects, and never writes.

Live bait: programs that, if anything ran them, would create a marker file -- a static ELF whose code
is three system calls (open(marker, O_CREAT), exit), a PIE whose PT_INTERP is such an ELF, a PIE the
real glibc loader would start, a shell script, and a script whose #! interpreter is another script.
A positive control runs each bait on purpose and sees its marker appear, so the bait is known to be live.
Then linkcheck analyses and checks them (against built-in targets and against a root directory whose
loader and /bin/sh are bait too), with an audit hook recording every process, exec, spawn, fork, ctypes
and file-writing event: no marker appears and no event fires.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pkgutil
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import linkcheck
from linkcheck.errors import LinkcheckError

from conftest import FIXTURE_BIN, snapshot_tree
from elfwriter import ET_DYN, ET_EXEC, ElfSpec, Export, write

X86_64 = platform.machine() == "x86_64"

# ----------------------------------------------------------------------------------------------
# The audit hook: installed once (hooks cannot be removed), armed only inside `watching()`.
# ----------------------------------------------------------------------------------------------

EXEC_EVENTS = (
    "subprocess.Popen",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.system",
    "os.fork",
    "os.forkpty",
    "pty.spawn",
    "ctypes.dlopen",
    "ctypes.dlsym",
    "ctypes.call_function",
    "ctypes.cdata",
)
WRITE_EVENTS = (
    "os.remove",
    "os.rename",
    "os.rmdir",
    "os.mkdir",
    "os.chmod",
    "os.chown",
    "os.symlink",
    "os.link",
    "os.truncate",
    "os.utime",
    "os.mkfifo",
    "os.mknod",
    "shutil.copyfile",
    "shutil.rmtree",
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class _Recorder:
    def __init__(self) -> None:
        self.armed = False
        self.events: list[tuple[str, tuple[Any, ...]]] = []

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if self.armed and _suspicious(event, args):
            self.events.append((event, args))


def _suspicious(event: str, args: tuple[Any, ...]) -> bool:
    if event.startswith(EXEC_EVENTS) or event in WRITE_EVENTS:
        return True
    if event == "open":
        return _opens_for_writing(args)
    # mmap(fileno, length, access, offset): ACCESS_WRITE (2) would write through to the file
    return event == "mmap.__new__" and len(args) >= 3 and args[2] == 2


def _opens_for_writing(args: tuple[Any, ...]) -> bool:
    _path, mode, flags = (tuple(args) + (None, None, None))[:3]
    if isinstance(mode, str) and any(c in mode for c in "wax+"):
        return True
    return isinstance(flags, int) and bool(flags & _WRITE_FLAGS)


RECORDER = _Recorder()
sys.addaudithook(RECORDER)


def _import_everything() -> None:
    """Import every linkcheck module now, so nothing is compiled (and no .pyc written) while armed."""
    for mod in pkgutil.walk_packages(linkcheck.__path__, "linkcheck."):
        if mod.name.endswith("__main__"):
            continue
        with contextlib.suppress(ImportError):
            importlib.import_module(mod.name)


@contextlib.contextmanager
def watching() -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    _import_everything()
    RECORDER.events = []
    dont_write = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    RECORDER.armed = True
    try:
        yield RECORDER.events
    finally:
        RECORDER.armed = False
        sys.dont_write_bytecode = dont_write


def test_the_hook_sees_what_it_should() -> None:
    """Self-check: a subprocess, a write and a ctypes load are all recorded while armed."""
    with watching() as events:
        subprocess.run(["true"], check=False)
        with contextlib.suppress(OSError):
            os.open("/nonexistent-dir/x", os.O_WRONLY | os.O_CREAT)
        import ctypes.util

        with contextlib.suppress(OSError):
            ctypes.CDLL(None)
    names = {e for e, _ in events}
    assert "subprocess.Popen" in names
    assert "open" in names
    assert "ctypes.dlopen" in names


# ----------------------------------------------------------------------------------------------
# Bait
# ----------------------------------------------------------------------------------------------


def marker_code(marker: str) -> bytes:
    """x86-64: open(marker, O_WRONLY|O_CREAT, 0644); exit(0). Position-independent (RIP-relative)."""
    body = bytes.fromhex(
        "488d3d1a000000"  # lea rdi, [rip+0x1a]   (the path, after the code)
        "be41000000"  # mov esi, O_WRONLY|O_CREAT
        "baa4010000"  # mov edx, 0644
        "b802000000"  # mov eax, SYS_open
        "0f05"  # syscall
        "b83c000000"  # mov eax, SYS_exit
        "31ff"  # xor edi, edi
        "0f05"  # syscall
    )
    assert len(body) == 33
    return body + marker.encode() + b"\0"


def _exe(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o755)
    return path


class Bait:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.dir = base / "bait"
        self.dir.mkdir()
        self.markers = base / "markers"
        self.markers.mkdir()
        self.files: dict[str, Path] = {}

    def marker(self, name: str) -> str:
        return str(self.markers / f"marker-{name}")

    def build(self) -> dict[str, Path]:
        d, f = self.dir, self.files
        f["static-elf"] = _exe(d / "static-elf", write(ElfSpec(
            elf_type=ET_EXEC, dynamic=False, text=marker_code(self.marker("static-elf")))))
        f["interp-elf"] = _exe(d / "interp-elf", write(ElfSpec(
            elf_type=ET_EXEC, dynamic=False, text=marker_code(self.marker("interp-elf")))))
        f["pie-own-interp"] = _exe(d / "pie-own-interp", write(ElfSpec(
            elf_type=ET_DYN, pie=True, interp=str(f["interp-elf"]), needed=("libc.so.6",),
            text=marker_code(self.marker("pie-own-interp")))))
        f["pie-glibc"] = _exe(d / "pie-glibc", write(ElfSpec(
            elf_type=ET_DYN, pie=True, interp="/lib64/ld-linux-x86-64.so.2", needed=("libc.so.6",),
            text=marker_code(self.marker("pie-glibc")))))
        f["script"] = _exe(d / "script", f"#!/bin/sh\n: > '{self.marker('script')}'\n".encode())
        f["script-interp"] = _exe(d / "script-interp",
                                  f"#!/bin/sh\n: > '{self.marker('script-interp')}'\n".encode())
        f["nested-script"] = _exe(d / "nested-script", f"#!{f['script-interp']}\nexit 0\n".encode())
        f["env-script"] = _exe(d / "env-script", f"#!/usr/bin/env -S sh {f['script']}\n".encode())
        return f

    def fired(self) -> list[str]:
        return sorted(p.name for p in self.markers.iterdir())


@pytest.fixture
def bait(tmp_path: Path) -> Bait:
    b = Bait(tmp_path)
    b.build()
    return b


@pytest.mark.skipif(not X86_64, reason="the ELF bait is x86-64 machine code")
@pytest.mark.parametrize("name", ["static-elf", "pie-own-interp", "pie-glibc", "script", "nested-script"])
def test_positive_control_bait_is_live(bait: Bait, name: str) -> None:
    """Run on purpose, each bait leaves its marker: so 'no marker' below means 'never ran'."""
    if name == "pie-glibc" and not Path("/lib64/ld-linux-x86-64.so.2").exists():
        pytest.skip("no glibc loader on this host")
    subprocess.run([str(bait.files[name])], check=True, timeout=30, cwd=bait.base)
    expected = {"pie-own-interp": "marker-interp-elf", "nested-script": "marker-script-interp"}
    assert bait.fired() == [expected.get(name, f"marker-{name}")]


# ----------------------------------------------------------------------------------------------
# A root directory whose loader, libc and shell are bait
# ----------------------------------------------------------------------------------------------


def bait_root(bait: Bait) -> Path:
    root = bait.base / "root"
    for d in ("lib64", "lib/x86_64-linux-gnu", "bin", "usr/bin", "etc/ld.so.conf.d", "app"):
        (root / d).mkdir(parents=True, exist_ok=True)
    # The loader is a live marker program (the library may read it to learn the glibc version).
    _exe(root / "lib64/ld-linux-x86-64.so.2", write(ElfSpec(
        elf_type=ET_DYN, soname="ld-linux-x86-64.so.2", exports=(Export("_dl_start"),),
        text=marker_code(bait.marker("root-loader")))))
    _exe(root / "lib/x86_64-linux-gnu/libc.so.6", write(ElfSpec(
        elf_type=ET_DYN, soname="libc.so.6", version_definitions=("GLIBC_2.2.5", "GLIBC_2.34"),
        exports=(Export("puts", "GLIBC_2.2.5"),), interp="/lib64/ld-linux-x86-64.so.2",
        text=marker_code(bait.marker("root-libc")))))
    _exe(root / "bin/sh", f"#!/bin/sh\n: > '{bait.marker('root-sh')}'\n".encode())
    _exe(root / "usr/bin/env", f"#!/bin/sh\n: > '{bait.marker('root-env')}'\n".encode())
    (root / "etc/ld.so.conf").write_text("include /etc/ld.so.conf.d/*.conf\n")
    (root / "etc/ld.so.conf.d/x86_64-linux-gnu.conf").write_text("/lib/x86_64-linux-gnu\n")
    for name in ("pie-glibc", "script"):
        shutil.copy2(bait.files[name], root / "app" / name)
    return root




TARGETS = ["debian:bookworm-slim", "alpine:3.20", "gcr.io/distroless/static-debian12"]


def _analyze_and_check(paths: list[Path], targets: list[Any]) -> int:
    from linkcheck.facts.reader import analyze
    from linkcheck.image.target import load_target
    from linkcheck.verdict.checks import check

    loaded = [t if not isinstance(t, str) else load_target(t, platform="linux/amd64") for t in targets]
    verdicts = 0
    for path in paths:
        try:
            analysis = analyze(path)
        except LinkcheckError:
            continue
        analysis.to_dict()
        for target in loaded:
            check(analysis, target).to_dict()
            verdicts += 1
    return verdicts


def test_analyze_and_check_never_execute_bait(bait: Bait) -> None:
    before = snapshot_tree(bait.base)
    with watching() as events:
        verdicts = _analyze_and_check(list(bait.files.values()), TARGETS)
    assert verdicts == len(bait.files) * len(TARGETS)
    assert events == []
    assert bait.fired() == []
    assert snapshot_tree(bait.base) == before


def test_checking_against_a_bait_root_never_executes(bait: Bait) -> None:
    from linkcheck.image.target import load_target

    root = bait_root(bait)
    before = snapshot_tree(bait.base)
    with watching() as events:
        target = load_target(str(root))
        verdicts = _analyze_and_check([root / "app/pie-glibc", root / "app/script", *bait.files.values()],
                                      [target])
        linkcheck.check(str(root / "app/pie-glibc"), target)
    assert verdicts >= 2
    assert target.libc.value == "glibc"
    assert events == []
    assert bait.fired() == []
    assert snapshot_tree(bait.base) == before


def test_cli_never_executes(bait: Bait, capsys: pytest.CaptureFixture[str]) -> None:
    from linkcheck.cli import main

    root = bait_root(bait)
    before = snapshot_tree(bait.base)
    args = [[str(p) for p in bait.files.values()],
            ["--json", "-t", str(root), "-t", "debian:bookworm-slim", str(bait.files["pie-glibc"])],
            ["-t", str(root), str(root / "app/script"), str(bait.files["nested-script"])]]
    with watching() as events:
        for argv in args:
            with contextlib.suppress(SystemExit):
                main(argv)
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    assert events == []
    assert bait.fired() == []
    assert snapshot_tree(bait.base) == before


def test_analyze_every_fixture_under_the_hook() -> None:
    from linkcheck.facts.reader import analyze

    paths = sorted(p for p in FIXTURE_BIN.rglob("*") if p.is_file())
    assert paths
    with watching() as events:
        read = 0
        for path in paths:
            try:
                analyze(path).to_dict()
                read += 1
            except LinkcheckError:
                pass
    assert read >= len(paths) - 2
    assert events == []


def test_scanning_the_bait_never_executes(bait: Bait) -> None:
    """A directory scan (in process) under the hook; then with worker processes, by markers alone (the
    workers are linkcheck's own processes, which the hook would see as forks)."""
    from linkcheck.scan import scan_paths

    root = bait_root(bait)
    before = snapshot_tree(bait.base)
    with watching() as events:
        results = list(scan_paths([str(bait.dir), str(root)], jobs=1))
    assert len(results) >= len(bait.files)
    assert events == []
    results = list(scan_paths([str(bait.dir), str(root)], jobs=2))
    assert len(results) >= len(bait.files)
    assert bait.fired() == []
    assert snapshot_tree(bait.base) == before
