"""linkcheck against the target's own loader, at scale.

A deterministic sample of real ELF programs and libraries (from the host's /usr/bin and
/usr/lib/x86_64-linux-gnu, and from the busybox:glibc image) is copied into another root and judged
there twice: by linkcheck, statically, and by that root's glibc loader in trace mode
(``LD_TRACE_LOADED_OBJECTS=1 /lib64/ld-linux-x86-64.so.2 FILE``, which maps every library and checks
every version but runs nothing). The loader's "X => not found" and "version `V' not found" lines must
be exactly linkcheck's missing libraries and versions.

About 150 files in the default run; every candidate with LINKCHECK_SLOW=1 (which also adds the
debootstrap roots, whose older glibc makes versions go missing).
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path
from typing import Any

import pytest

from conftest import needs_root
from launch import MuslList, Trace, in_root_file, install, musl_list, trace
from roots import RootFactory, has_interp, root_factory  # noqa: F401  (the session fixture)

pytestmark = [needs_root, pytest.mark.chroot]

SLOW = os.environ.get("LINKCHECK_SLOW") == "1"
SAMPLE = 150
MAX_BYTES = 40_000_000
HOST_DIRS = (Path("/usr/bin"), Path("/usr/lib/x86_64-linux-gnu"))
TRACE_ROOTS = ("glibc-host-nocxx", "busybox-glibc") + (
    ("debian-bookworm", "debian-bullseye") if SLOW else ()
)


def dynamic_x86_64_elf(path: Path) -> bool:
    """An x86-64 ELF executable or shared object with a PT_DYNAMIC segment (read by hand)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
            if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
                return False
            e_type, e_machine = struct.unpack_from("<HH", head, 16)
            phoff = struct.unpack_from("<Q", head, 32)[0]
            phentsize, phnum = struct.unpack_from("<HH", head, 54)
            if e_machine != 62 or e_type not in (2, 3) or phentsize < 56 or phnum > 256:
                return False
            fh.seek(phoff)
            table = fh.read(phentsize * phnum)
    except OSError:
        return False
    if len(table) < phentsize * phnum:
        return False
    return any(struct.unpack_from("<I", table, i * phentsize)[0] == 2 for i in range(phnum))


def _key(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def host_candidates() -> list[Path]:
    found: list[Path] = []
    for d in HOST_DIRS:
        if not d.is_dir():
            continue
        for p in sorted(d.iterdir()):
            if p.is_symlink() or not p.is_file():
                continue
            if p.stat().st_size > MAX_BYTES or not dynamic_x86_64_elf(p):
                continue
            found.append(p)
    return found


def sample(paths: list[Path], n: int | None) -> list[Path]:
    """A deterministic sample: the n paths whose SHA-256 of the path text sorts first."""
    ordered = sorted(paths, key=lambda p: _key(str(p)))
    return ordered if n is None else ordered[:n]


HOST_SAMPLE = sample(host_candidates(), None if SLOW else SAMPLE)


class Judge:
    """Predictions for one root (linkcheck's target read once)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.analyze = pytest.importorskip("linkcheck.facts.reader").analyze
        self.check = pytest.importorskip("linkcheck.verdict.checks").check
        self.host_dir_files = pytest.importorskip("linkcheck.image.rootfs").host_dir_files
        self.outcome = pytest.importorskip("linkcheck.model").Outcome
        target_mod = pytest.importorskip("linkcheck.image.target")
        self.target = target_mod.load_target(str(root))
        self.count = 0

    def place(self, source: Path) -> tuple[str, str]:
        """Copy the file alone into a fresh directory of the root: (install dir, path in root)."""
        self.count += 1
        where = f"/trace/{self.count}"
        return where, install(self.root, source, f"{where}/{source.name}")

    def predict(self, source: Path, where: str) -> tuple[frozenset[str], frozenset[str], Any]:
        analysis = self.analyze(source)
        verdict = self.check(analysis, self.target,
                             origin_files=self.host_dir_files(str(self.root / where.lstrip("/")), where),
                             install_dir=where)
        libs = frozenset(p.subject for p in verdict.problems if p.kind == self.outcome.MISSING_LIBRARY)
        versions = frozenset(p.subject for p in verdict.problems
                             if p.kind == self.outcome.MISSING_SYMBOL_VERSION)
        return libs, versions, verdict


_JUDGES: dict[str, Judge] = {}


def judge_for(factory: RootFactory, name: str) -> Judge:
    if name not in _JUDGES:
        _JUDGES[name] = Judge(factory.get(name))
    return _JUDGES[name]


def compare(judge: Judge, source: Path) -> Trace:
    where, in_root = judge.place(source)
    real = trace(judge.root, in_root)
    libs, versions, verdict = judge.predict(source, where)
    detail = (f"{source} in {judge.root.name}\nloader said:\n{real.output}\nlinkcheck said: "
              f"missing libraries {sorted(libs)}, versions {sorted(versions)}; outcome "
              f"{getattr(verdict, 'outcome', None)}")
    assert libs == real.missing, detail
    assert versions == real.versions, detail
    # And the libraries found: the very files the loader mapped (musl built-ins have no path).
    predicted = {lib.name: in_root_file(judge.root, lib.path) for lib in verdict.loaded if lib.path}
    assert predicted == real.loaded, f"{detail}\nloaded: {predicted}"
    return real


@pytest.mark.parametrize("root_name", TRACE_ROOTS)
@pytest.mark.parametrize("source", HOST_SAMPLE, ids=lambda p: str(p))
def test_host_file_against_root(root_factory: RootFactory, root_name: str, source: Path) -> None:  # noqa: F811
    compare(judge_for(root_factory, root_name), source)


def image_files(root: Path) -> list[Path]:
    """Distinct dynamic x86-64 ELF files of an image root (hard links counted once)."""
    seen: set[tuple[int, int]] = set()
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in ("app", "proc", "trace", "alone"))
        for f in sorted(filenames):
            p = Path(dirpath) / f
            if p.is_symlink() or not p.is_file():
                continue
            st = p.stat()
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            if dynamic_x86_64_elf(p):
                out.append(p)
    return out


@pytest.mark.parametrize("root_name", TRACE_ROOTS)
def test_busybox_glibc_image_files_against_root(root_factory: RootFactory, root_name: str) -> None:  # noqa: F811
    # busybox:1.38.0-glibc carries Debian 13's glibc 2.41: its busybox and libraries need versions
    # an older glibc lacks, which the host's own files never do.
    image = root_factory.get("busybox-glibc")
    judge = judge_for(root_factory, root_name)
    files = image_files(image)
    assert files, "no dynamic ELF file in busybox-glibc"
    failures = []
    versions_missing = 0
    for source in files:
        try:
            versions_missing += bool(compare(judge, source).versions)
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n\n".join(failures)
    if root_name != "busybox-glibc":
        # Not vacuous: glibc 2.41's busybox needs versions (GLIBC_2.38 ...) that these older roots
        # lack, as their own loader says.
        assert versions_missing >= 1


def test_sample_really_misses_libraries_in_nocxx(root_factory: RootFactory) -> None:  # noqa: F811
    # The comparison above is not vacuous: in the small root, the loader itself reports libraries
    # missing for many of the sampled host files (no linkcheck involved here).
    root = root_factory.get("glibc-host-nocxx")
    head = HOST_SAMPLE[:30]
    if len(head) < 10:
        pytest.skip("fewer than 10 dynamic ELF files on this host")
    missing = 0
    for i, source in enumerate(head):
        in_root = install(root, source, f"/trace-vacuity/{i}/{source.name}")
        missing += bool(trace(root, in_root).missing)
    assert missing >= len(head) // 4, f"only {missing} of {len(head)} sampled files miss a library"


# --- musl: the same comparison against musl's loader in ldd mode ---------------------------------

MUSL_ROOTS = ("musl", "alpine-3.20.3-x86_64")


def compare_musl(judge: Judge, source: Path) -> MuslList:
    where, in_root = judge.place(source)
    real = musl_list(judge.root, in_root)
    verdict = judge.predict(source, where)[2]
    libs = {p.subject for p in verdict.problems if p.kind == judge.outcome.MISSING_LIBRARY}
    symbols = {p.subject for p in verdict.problems if p.kind == judge.outcome.MISSING_SYMBOL}
    detail = (f"{source} in {judge.root.name}\nmusl's loader said (exit {real.exit_code}):\n"
              f"{real.output[:3000]}\nlinkcheck said: missing libraries {sorted(libs)}, symbols "
              f"{sorted(symbols)}; outcome {verdict.outcome}")
    assert libs == real.missing, detail
    if real.missing:
        # musl also names every symbol the missing libraries would have defined; linkcheck reports
        # the libraries, and any symbol it names must be among musl's.
        assert symbols <= real.symbols, detail
        return real
    elf = judge.analyze(source).elf
    if elf is not None and elf.interpreter is None:
        # ldd mode loads a library as if it were the program; in a real program its unversioned imports
        # may come from the program (an extension module's PyList_New), so linkcheck names those in a note
        # instead of failing. musl's list is then linkcheck's problems plus exactly those.
        left = real.symbols - symbols
        unversioned = {i.name for i in elf.imports if i.version is None and not i.weak}
        assert symbols <= real.symbols and left <= unversioned, detail
        if left:
            assert any(n.startswith(f"{len(left)} undefined symbols") for n in verdict.notes), detail
    else:
        assert symbols == real.symbols, detail
    return real


@pytest.mark.parametrize("root_name", MUSL_ROOTS)
def test_alpine_files_against_musl_root(root_factory: RootFactory, root_name: str) -> None:  # noqa: F811
    # alpine's own programs and libraries (musl 1.2.5, OpenSSL, zlib, apk) judged in alpine itself and
    # in a root holding only Debian's older musl, whose loader reports missing libraries and symbols.
    image = root_factory.get("alpine-3.20.3-x86_64")
    judge = judge_for(root_factory, root_name)
    files = image_files(image)
    assert len(files) >= 5, "alpine's root should hold several dynamic ELF files"
    failures = []
    lacking_library = lacking_symbol_only = 0
    for source in files:
        try:
            real = compare_musl(judge, source)
        except AssertionError as exc:
            failures.append(str(exc))
            continue
        lacking_library += bool(real.missing)
        lacking_symbol_only += bool(real.symbols and not real.missing)
    assert not failures, "\n\n".join(failures)
    if root_name == "musl":
        # Not vacuous: Debian's bare musl root lacks OpenSSL and zlib, and its libc lacks a symbol
        # alpine's busybox imports, as its own loader says.
        assert lacking_library >= 1 and lacking_symbol_only >= 1, (lacking_library, lacking_symbol_only)


# Libraries only: a file with PT_INTERP (libc.so.6, libcap.so.2 ...) is judged as the program it also is.
HOST_LIBRARY_SAMPLE = [p for p in HOST_SAMPLE if ".so" in p.name and not has_interp(p)]
HOST_LIBRARY_SAMPLE = HOST_LIBRARY_SAMPLE[: None if SLOW else 60]

# basename -> why linkcheck's verdict differs from musl's loader (strict xfail: a fix turns it green).
MUSL_KNOWN_MISMATCHES: dict[str, str] = {}


def host_library_cases() -> list[Any]:
    out = []
    for p in HOST_LIBRARY_SAMPLE:
        reason = MUSL_KNOWN_MISMATCHES.get(p.name)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(p, id=str(p), marks=marks))
    return out


@pytest.mark.parametrize("source", host_library_cases())
def test_host_glibc_library_against_musl_root(root_factory: RootFactory, source: Path) -> None:  # noqa: F811
    # A glibc-built library in a musl image is loaded by musl's loader (libc.so.6 is one of the names
    # it satisfies itself; versions are ignored): whatever it lacks, it says.
    compare_musl(judge_for(root_factory, "musl"), source)


HOST_PROGRAM_SAMPLE = [p for p in HOST_SAMPLE if has_interp(p)][: None if SLOW else 60]


def test_host_programs_on_glibc_loader_symlinked_to_musl(root_factory: RootFactory) -> None:  # noqa: F811
    # The hack from USERS.md item 9 at scale: the kernel starts musl's loader for each glibc program,
    # which resolves what it can and names the rest; its ldd mode does the same without running it.
    judge = judge_for(root_factory, "musl-glibc-link")
    if not HOST_PROGRAM_SAMPLE:
        pytest.skip("no dynamic host programs sampled")
    failures = []
    for source in HOST_PROGRAM_SAMPLE:
        try:
            compare_musl(judge, source)
        except AssertionError as exc:
            lines = str(exc).split("\n")
            said = [ln.strip() for ln in lines if "Error " in ln][:3]
            said += [ln.strip() for ln in lines if "linkcheck said" in ln]
            failures.append(f"{source}: " + " | ".join(said))
    assert not failures, f"{len(failures)} of {len(HOST_PROGRAM_SAMPLE)}:\n" + "\n".join(failures)
