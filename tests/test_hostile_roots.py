# mypy: disable-error-code="func-returns-value"
# (the case tables below apply several steps as one tuple expression)
"""Hostile root filesystems: a directory target is read only inside itself, never blocks, never writes.

Each case builds a small glibc root (written ELF files: a loader, libc.so.6 with version nodes) and an
app that needs libc.so.6 and libfoo.so.1. libfoo.so.1 exists only where linkcheck must not look: on
the HOST side, next to the root (tmp_path/host), or in a directory that only a host-side ld.so.conf
names. A case then plants a way out (absolute or climbing symlinks, ``..`` in ld.so.conf, includes of
host files, symlinked /etc/ld.so.conf.d ...) or a trap (loops, a directory or FIFO where a library or
config file should be). If linkcheck followed the way out, libfoo.so.1 would be found and the app would
"run"; the verdict must instead be exactly what it is when the planted entry is absent: libfoo.so.1
missing. Controls show the same links pointing *inside* the root are followed. Before/after snapshots
of the whole tmp tree show nothing is written.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from linkcheck.errors import LinkcheckError, TargetError
from linkcheck.image.tree import DirectoryTree, resolve
from linkcheck.model import Outcome, Target, Verdict

from conftest import snapshot_tree
from elfwriter import ElfSpec, Export, Import, write

# A hang is a failure, not a timing: the work runs in a daemon thread given this long to finish.
DEADLINE_S = 60

LOADER = "/lib64/ld-linux-x86-64.so.2"
LIBDIR = "lib/x86_64-linux-gnu"


def _put(path: Path, spec: ElfSpec) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(write(spec))
    path.chmod(0o755)


LIBFOO = ElfSpec(soname="libfoo.so.1", exports=(Export("foo"),))


@dataclass
class World:
    base: Path
    root: Path
    host: Path  # outside the root: what must never be read
    app: Path

    def link(self, at: str, to: str | Path) -> None:
        p = self.root / at
        p.parent.mkdir(parents=True, exist_ok=True)
        if p.is_symlink() or p.exists():
            p.unlink()
        os.symlink(str(to), p)

    def climb(self, from_dir: str) -> str:
        """A relative path from ``root/from_dir`` up past the host's / (more ``..`` than needed)."""
        depth = len((self.root / from_dir).parts) + 3
        return "../" * depth

    def conf(self, text: str) -> None:
        (self.root / "etc/ld.so.conf").write_text(text)


def make_world(base: Path) -> World:
    root, host = base / "root", base / "host"
    _put(root / LOADER.lstrip("/"), ElfSpec(soname="ld-linux-x86-64.so.2", exports=(Export("_dl_start"),)))
    _put(root / LIBDIR / "libc.so.6", ElfSpec(
        soname="libc.so.6", version_definitions=("GLIBC_2.2.5", "GLIBC_2.28"),
        exports=(Export("puts", "GLIBC_2.2.5"),), interp=LOADER))
    (root / "etc").mkdir()
    (root / "etc/ld.so.cache").write_bytes(b"")
    (root / "etc/ld.so.conf").write_text(f"/{LIBDIR}\n")
    (root / "opt/evil").mkdir(parents=True)  # empty in the root; a host-side conf would point here
    # The host side: the library, a conf naming /opt/evil, and /opt/evil with the library.
    _put(host / "lib/libfoo.so.1", LIBFOO)
    (host / "etc/ld.so.conf.d").mkdir(parents=True)
    (host / "etc/ld.so.conf.d/evil.conf").write_text("/opt/evil\n")
    (host / "etc/ld.so.conf").write_text("/opt/evil\ninclude /etc/ld.so.conf.d/*.conf\n")
    _put(host / "opt/evil/libfoo.so.1", LIBFOO)
    app = base / "app/app"
    _put(app, ElfSpec(interp=LOADER, needed=("libc.so.6", "libfoo.so.1"), pie=True,
                      version_needs=(("libc.so.6", ("GLIBC_2.2.5",)),),
                      imports=(Import("puts", "GLIBC_2.2.5"), Import("foo")), runpath="$ORIGIN"))
    return World(base, root, host, app)




def within_deadline(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a daemon thread; fail (without hanging the suite) if it has not returned in time."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test thread
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(DEADLINE_S)
    assert not t.is_alive(), f"still running after {DEADLINE_S} s: blocked (a FIFO opened?) or looping"
    if "error" in box:
        raise box["error"]
    return box["value"]


def verdict_for(world: World, *, origin: bool = False) -> tuple[Target, Verdict]:
    from linkcheck.facts.reader import analyze
    from linkcheck.image.rootfs import host_dir_files
    from linkcheck.image.target import load_target
    from linkcheck.verdict.checks import check

    def work() -> tuple[Target, Verdict]:
        target = load_target(str(world.root))
        origin_files = host_dir_files(str(world.app.parent), "/app") if origin else None
        return target, check(analyze(world.app), target, origin_files=origin_files)

    result: tuple[Target, Verdict] = within_deadline(work)
    return result


def assert_libfoo_missing(world: World, target: Target, verdict: Verdict) -> None:
    assert verdict.outcome is Outcome.MISSING_LIBRARY, verdict.to_dict()
    assert [p.subject for p in verdict.problems if p.kind is Outcome.MISSING_LIBRARY] == ["libfoo.so.1"]
    assert "/opt/evil" not in [d.path for d in target.search_dirs]
    # Everything loaded is a file inside the root (paths spelling a host path are root paths too).
    tree = DirectoryTree(world.root)
    for lib in verdict.loaded:
        assert lib.name != "libfoo.so.1"
        assert lib.path is None or resolve(tree, lib.path) is not None, lib


# ----------------------------------------------------------------------------------------------
# Controls: the clean root, and links that stay inside it, are followed
# ----------------------------------------------------------------------------------------------


def test_clean_root_misses_libfoo(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    target, verdict = verdict_for(world)
    assert target.libc.value == "glibc" and target.libc_version == "2.28"
    assert_libfoo_missing(world, target, verdict)


CONTROLS: dict[str, Callable[[World], object]] = {
    "library in the root": lambda w: _put(w.root / LIBDIR / "libfoo.so.1", LIBFOO),
    "absolute link inside the root": lambda w: (_put(w.root / "opt/real/libfoo.so.1", LIBFOO),
                                                w.link(f"{LIBDIR}/libfoo.so.1", "/opt/real/libfoo.so.1")),
    "relative link inside the root": lambda w: (
        _put(w.root / "opt/real/libfoo.so.1", LIBFOO),
        w.link(f"{LIBDIR}/libfoo.so.1", "../../opt/real/libfoo.so.1")),
    "ld.so.conf includes a root file": lambda w: (
        _put(w.root / "opt/evil/libfoo.so.1", LIBFOO),
        (w.root / "etc/ld.so.conf.d").mkdir(),
        (w.root / "etc/ld.so.conf.d/ok.conf").write_text("/opt/evil\n"),
        w.conf(f"include /etc/ld.so.conf.d/*.conf\n/{LIBDIR}\n")),
    "climbing link clamped at the root's /": lambda w: (
        _put(w.root / "opt/real/libfoo.so.1", LIBFOO),
        w.link(f"{LIBDIR}/libfoo.so.1", w.climb(LIBDIR) + "opt/real/libfoo.so.1")),
}


@pytest.mark.parametrize("case", sorted(CONTROLS))
def test_controls_links_inside_the_root_are_followed(tmp_path: Path, case: str) -> None:
    world = make_world(tmp_path)
    CONTROLS[case](world)
    _target, verdict = verdict_for(world)
    assert verdict.runs, verdict.to_dict()
    assert [lib.name for lib in verdict.loaded] == ["libc.so.6", "libfoo.so.1"]


# ----------------------------------------------------------------------------------------------
# Ways out: each must leave the verdict as if the entry were absent
# ----------------------------------------------------------------------------------------------


def _relative_to_host(w: World, from_dir: str, host_rel: str) -> str:
    return w.climb(from_dir) + str(w.host / host_rel).lstrip("/")


ESCAPES: dict[str, Callable[[World], object]] = {
    "absolute symlink to a host library": lambda w: w.link(f"{LIBDIR}/libfoo.so.1",
                                                           w.host / "lib/libfoo.so.1"),
    "relative symlink climbing to a host library": lambda w: w.link(
        f"{LIBDIR}/libfoo.so.1", _relative_to_host(w, LIBDIR, "lib/libfoo.so.1")),
    "search directory symlinked to the host": lambda w: w.link("usr/lib/x86_64-linux-gnu", w.host / "lib"),
    "search directory climbing to the host": lambda w: w.link(
        "usr/lib/x86_64-linux-gnu", _relative_to_host(w, "usr/lib", "lib")),
    "symlink through /proc/self/root": lambda w: w.link(
        f"{LIBDIR}/libfoo.so.1", f"/proc/self/root{w.host}/lib/libfoo.so.1"),
    "ld.so.conf includes a host file by absolute path": lambda w: w.conf(
        f"include {w.host}/etc/ld.so.conf.d/*.conf\n/{LIBDIR}\n"),
    "ld.so.conf include climbing with ..": lambda w: w.conf(
        f"include {_relative_to_host(w, 'etc', 'etc/ld.so.conf.d/*.conf')}\n/{LIBDIR}\n"),
    "ld.so.conf dirs with .. above /": lambda w: w.conf(
        f"/../../../../..{w.host}/lib\n/{LIBDIR}/../../../../..{w.host}/opt/evil\n/{LIBDIR}\n"),
    "ld.so.conf.d symlinked to the host": lambda w: (
        w.link("etc/ld.so.conf.d", w.host / "etc/ld.so.conf.d"),
        w.conf(f"include /etc/ld.so.conf.d/*.conf\n/{LIBDIR}\n")),
    "ld.so.conf symlinked to the host's": lambda w: w.link("etc/ld.so.conf", w.host / "etc/ld.so.conf"),
    "ld.so.conf includes /etc/* (the host's, if misread)": lambda w: w.conf(
        f"include /etc/*.conf\ninclude /etc/ld.so.conf.d/*\n/{LIBDIR}\n"),
    "ld.so.conf includes itself": lambda w: w.conf(
        f"include /etc/ld.so.conf\ninclude ld.so.conf\ninclude /etc/../etc/./ld.so.conf\n/{LIBDIR}\n"),
    "ld.so.conf include loop through a symlink": lambda w: (
        w.link("etc/loop.conf", "/etc/ld.so.conf"),
        w.conf(f"include /etc/loop.conf\n/{LIBDIR}\n")),
    "library symlink loop (self)": lambda w: w.link(f"{LIBDIR}/libfoo.so.1", "libfoo.so.1"),
    "library symlink loop (two)": lambda w: (w.link(f"{LIBDIR}/libfoo.so.1", "libfoo.so.2"),
                                             w.link(f"{LIBDIR}/libfoo.so.2", "libfoo.so.1")),
    "directory symlink loop": lambda w: w.link("usr/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu/x"),
    "41 chained symlinks to a real library": lambda w: _chain(w, 41),
    "library path is a directory": lambda w: (w.root / LIBDIR / "libfoo.so.1").mkdir(),
    "library path is a FIFO": lambda w: os.mkfifo(w.root / LIBDIR / "libfoo.so.1"),
    "library symlink to /dev/zero": lambda w: w.link(f"{LIBDIR}/libfoo.so.1", "/dev/zero"),
    "ld.so.conf is a FIFO": lambda w: ((w.root / "etc/ld.so.conf").unlink(),
                                       os.mkfifo(w.root / "etc/ld.so.conf")),
    "ld.so.conf.d entry is a FIFO": lambda w: ((w.root / "etc/ld.so.conf.d").mkdir(),
                                               os.mkfifo(w.root / "etc/ld.so.conf.d/a.conf"),
                                               w.conf(f"include /etc/ld.so.conf.d/*.conf\n/{LIBDIR}\n")),
}


def _chain(w: World, n: int) -> None:
    """libfoo.so.1 -> l1 -> l2 ... -> l{n} -> a real library inside the root: one link more than
    the kernel's 40 makes the lookup fail (ELOOP), so the library is missing."""
    _put(w.root / "opt/real/libfoo.so.1", LIBFOO)
    w.link(f"{LIBDIR}/libfoo.so.1", "/opt/l1")
    for i in range(1, n):
        w.link(f"opt/l{i}", f"/opt/l{i + 1}")
    w.link(f"opt/l{n}", "/opt/real/libfoo.so.1")


@pytest.mark.parametrize("case", sorted(ESCAPES))
def test_ways_out_change_nothing(tmp_path: Path, case: str) -> None:
    world = make_world(tmp_path)
    ESCAPES[case](world)
    before = snapshot_tree(tmp_path)
    target, verdict = verdict_for(world)
    assert_libfoo_missing(world, target, verdict)
    assert target.libc_version == "2.28"
    assert snapshot_tree(tmp_path) == before, "something under tmp_path was written"


def test_forty_chained_links_are_followed(tmp_path: Path) -> None:
    """The control for the 41-link case: 40 links is what the kernel still follows."""
    world = make_world(tmp_path)
    _chain(world, 39)  # libfoo.so.1 -> l1 ... -> l39 -> real: 40 symlinks in the lookup
    _target, verdict = verdict_for(world)
    assert verdict.runs, verdict.to_dict()


# ----------------------------------------------------------------------------------------------
# $ORIGIN: libraries beside the program are read inside the program's directory only
# ----------------------------------------------------------------------------------------------

ORIGIN_ESCAPES: dict[str, Callable[[World], object]] = {
    "absolute link beside the program": lambda w: os.symlink(w.host / "lib/libfoo.so.1",
                                                             w.app.parent / "libfoo.so.1"),
    "relative link climbing from the program's directory": lambda w: os.symlink(
        "../host/lib/libfoo.so.1", w.app.parent / "libfoo.so.1"),
    "FIFO beside the program": lambda w: os.mkfifo(w.app.parent / "libfoo.so.1"),
}


def test_origin_control(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    _put(world.app.parent / "libfoo.so.1", LIBFOO)
    _target, verdict = verdict_for(world, origin=True)
    assert verdict.runs, verdict.to_dict()


@pytest.mark.parametrize("case", sorted(ORIGIN_ESCAPES))
def test_origin_ways_out_change_nothing(tmp_path: Path, case: str) -> None:
    world = make_world(tmp_path)
    ORIGIN_ESCAPES[case](world)
    before = snapshot_tree(tmp_path)
    target, verdict = verdict_for(world, origin=True)
    assert_libfoo_missing(world, target, verdict)
    assert snapshot_tree(tmp_path) == before


# ----------------------------------------------------------------------------------------------
# Roots whose essentials are traps: an answer or a TargetError, in time, nothing written
# ----------------------------------------------------------------------------------------------

TRAPS: dict[str, Callable[[World], object]] = {
    "loader is a FIFO": lambda w: ((w.root / LOADER.lstrip("/")).unlink(),
                                   os.mkfifo(w.root / LOADER.lstrip("/"))),
    "loader links to the host's loader": lambda w: (
        (w.root / LOADER.lstrip("/")).unlink(),
        os.symlink(LOADER, str(w.root / LOADER.lstrip("/")) + ".x"),
        os.symlink(f"/proc/1/root{LOADER}", w.root / LOADER.lstrip("/"))),
    "loader is a directory": lambda w: ((w.root / LOADER.lstrip("/")).unlink(),
                                        (w.root / LOADER.lstrip("/")).mkdir()),
    "libc is a FIFO": lambda w: ((w.root / LIBDIR / "libc.so.6").unlink(),
                                 os.mkfifo(w.root / LIBDIR / "libc.so.6")),
    "libc links to the host's libc": lambda w: ((w.root / LIBDIR / "libc.so.6").unlink(),
                                                os.symlink("/lib/x86_64-linux-gnu/libc.so.6.host",
                                                           w.root / LIBDIR / "libc.so.6")),
    "root/lib64 links to the host's /lib64": lambda w: (
        (w.root / LOADER.lstrip("/")).unlink(), (w.root / "lib64").rmdir(), os.symlink("/../../lib64",
                                                                                      w.root / "lib64")),
    "/etc is a FIFO": lambda w: (_rmtree(w.root / "etc"), os.mkfifo(w.root / "etc")),
}


def _rmtree(p: Path) -> None:
    for child in sorted(p.rglob("*"), reverse=True):
        child.rmdir() if child.is_dir() and not child.is_symlink() else child.unlink()
    p.rmdir()


@pytest.mark.parametrize("case", sorted(TRAPS))
def test_trapped_essentials(tmp_path: Path, case: str) -> None:
    from linkcheck.facts.reader import analyze
    from linkcheck.image.target import load_target
    from linkcheck.verdict.checks import check

    world = make_world(tmp_path)
    TRAPS[case](world)
    before = snapshot_tree(tmp_path)

    def work() -> Verdict | LinkcheckError:
        try:
            target = load_target(str(world.root))
        except TargetError as exc:
            return exc
        return check(analyze(world.app), target)

    result = within_deadline(work)
    if isinstance(result, Verdict):
        assert not result.runs, "a root without a usable loader or libc cannot run the app"
        assert str(world.host) not in repr(result.to_dict())
    assert snapshot_tree(tmp_path) == before


# ----------------------------------------------------------------------------------------------
# The Tree itself
# ----------------------------------------------------------------------------------------------


def test_tree_never_resolves_outside(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    for case in ("absolute symlink to a host library", "relative symlink climbing to a host library",
                 "symlink through /proc/self/root"):
        ESCAPES[case](world)
        tree = DirectoryTree(world.root)
        found = resolve(tree, f"/{LIBDIR}/libfoo.so.1")
        assert found is None, f"{case}: resolved to {found}"
    world.link("etc/up", "../../../../../../..")
    tree = DirectoryTree(world.root)
    found = resolve(tree, "/etc/up/etc/ld.so.conf")
    assert found is not None and found[0] == "/etc/ld.so.conf"  # clamped at the root's /
    assert bytes(tree.read(found[0])) == (world.root / "etc/ld.so.conf").read_bytes()


def test_fifo_read_refused_without_blocking(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    os.mkfifo(world.root / "fifo")
    tree = DirectoryTree(world.root)

    def work() -> str:
        try:
            tree.read("/fifo")
        except OSError as exc:
            return type(exc).__name__
        return "read"

    assert within_deadline(work) == "OSError"


# ----------------------------------------------------------------------------------------------
# Size: a sparse file costs nothing on disk; reading it must not cost its size in memory
# ----------------------------------------------------------------------------------------------

SPARSE_LOADER_BUG = (
    "rootfs._loader_system_dirs copies the whole loader into memory (bytes(buf[:])) to look for its "
    "built-in directory list: a root whose ld-linux-x86-64.so.2 is a sparse file of up to "
    "tree.MAX_FILE_BYTES (1 GiB) costs that much memory (64 MB sparse -> ~64 MB allocated); "
    "searching the mmap (mm.find) needs none"
)


def test_sparse_loader_is_not_copied_into_memory(tmp_path: Path) -> None:
    """Was SPARSE_LOADER_BUG (found here, fixed in rootfs)."""
    import tracemalloc

    from linkcheck.image.target import load_target

    world = make_world(tmp_path)
    with open(world.root / LOADER.lstrip("/"), "r+b") as f:
        f.truncate(64 << 20)  # a hole after the ELF header: ~1 KB on disk
    tracemalloc.start()
    try:
        target = within_deadline(lambda: load_target(str(world.root)))
        _cur, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert target.libc_version == "2.28"
    assert peak < 16 << 20, f"{peak >> 20} MB allocated to read a root with a 64 MB sparse loader"


def test_sparse_library_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """The same for a library the search meets: parse_elf works on the mapping."""
    import tracemalloc

    world = make_world(tmp_path)
    _put(world.root / LIBDIR / "libfoo.so.1", LIBFOO)
    with open(world.root / LIBDIR / "libfoo.so.1", "r+b") as f:
        f.truncate(64 << 20)
    from linkcheck.image.rootfs import TreeFiles

    files = TreeFiles(DirectoryTree(world.root))
    tracemalloc.start()
    try:
        lib = files.library(f"/{LIBDIR}/libfoo.so.1")
        _cur, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lib is not None and lib.soname == "libfoo.so.1"
    assert peak < 16 << 20
