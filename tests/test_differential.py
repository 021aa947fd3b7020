"""linkcheck's ELF facts against two independent readers (GNU readelf and LIEF).

Compared: class, endianness, e_machine, interpreter, DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH,
version needs and version definitions. The files: every ELF fixture, and a deterministic sample of the
ELF files under /usr (the same files on the same system: ordered by a hash of the path). The whole
/usr tree is ``python scripts/differential.py`` (see its docstring).

Every disagreement must be one of the explained kinds (``scripts/differential.classify``); each kind is
pinned below by a file made to show it, so an explanation that stops being true fails here too.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import random
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from conftest import FIXTURE_BIN, ROOT
from elfwriter import PT_INTERP, ElfSpec, Import, write, write_with_layout

needs_readelf = pytest.mark.skipif(shutil.which("readelf") is None, reason="readelf (binutils) not installed")
pytest.importorskip("linkcheck.facts.elf", reason="linkcheck.facts.elf not written yet")
pytest.importorskip("lief")


def _load() -> ModuleType:
    name = "linkcheck_differential"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "differential.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


diff = _load()
SAMPLE = int(os.environ.get("LINKCHECK_DIFF_SAMPLE", "100"))
# Kinds that are explained (each pinned by a test below); anything else fails.
EXPLAINED = {"readelf-unknown-machine", "lief-unknown-machine", "readelf-sectionless", "all-refuse",
             "references-disagree"}


@functools.lru_cache(maxsize=1)
def _usr_elves() -> tuple[str, ...]:
    paths = list(diff.iter_elf_files(["/usr"])) if os.path.isdir("/usr") else []
    paths.sort(key=lambda p: hashlib.sha256(p.encode("utf-8", "surrogateescape")).hexdigest())
    return tuple(paths)


def usr_sample(n: int) -> list[str]:
    return list(_usr_elves()[:n])


def fixture_elves() -> list[str]:
    return sorted(str(p) for p in FIXTURE_BIN.rglob("*") if p.is_file() and diff.is_elf(str(p)))


def _report(disagreements: list[Any]) -> str:
    return "\n".join(
        f"{d.kind}: {d.path}: {d.fact}: linkcheck={d.linkcheck!r} readelf={d.readelf!r} lief={d.lief!r}"
        for d in disagreements
    )


@needs_readelf
def test_fixtures_agree_with_readelf_and_lief() -> None:
    files = fixture_elves()
    assert len(files) >= 20
    found = [d for path in files for d in diff.compare_file(path)]
    unexplained = [d for d in found if d.kind not in EXPLAINED]
    assert not unexplained, _report(unexplained)
    # The only fixture that disagrees is the section-stripped one, whose versions readelf -V cannot show.
    expected = {("c-glibc-stripped-sections", "readelf-sectionless")}
    assert {(Path(d.path).name, d.kind) for d in found} <= expected


@needs_readelf
def test_usr_sample_agrees_with_readelf_and_lief() -> None:
    files = usr_sample(SAMPLE)
    if len(files) < 10:
        pytest.skip("fewer than 10 ELF files under /usr")
    found = [d for path in files for d in diff.compare_file(path)]
    unexplained = [d for d in found if d.kind not in EXPLAINED]
    assert not unexplained, _report(unexplained)
    # Disagreements are rare: most files agree on every fact.
    assert len({d.path for d in found}) <= len(files) // 10, _report(found)


def test_usr_sample_is_deterministic() -> None:
    """The sample depends on the paths only, not on the order the walk met them."""
    everything = list(_usr_elves())
    random.Random(7).shuffle(everything)
    again = sorted(everything, key=lambda p: hashlib.sha256(p.encode("utf-8", "surrogateescape")).hexdigest())
    assert again[:20] == usr_sample(20)


# ----------------------------------------------------------------------------------------------
# Each explained kind, shown by a file made for it
# ----------------------------------------------------------------------------------------------


@needs_readelf
def test_kind_all_refuse_empty_pt_interp(tmp_path: Path) -> None:
    """Separate debug-info files keep PT_INTERP with p_filesz 0 (the bytes were stripped): the kernel
    refuses such a file (ENOEXEC), linkcheck refuses it, readelf reports an error."""
    data, lay = write_with_layout(ElfSpec(interp="/lib64/ld-linux-x86-64.so.2", needed=("libc.so.6",)))
    buf = bytearray(data)
    at = lay.phdrs[PT_INTERP]
    buf[at + 32 : at + 40] = (0).to_bytes(8, "little")  # p_filesz
    path = tmp_path / "debuginfo"
    path.write_bytes(bytes(buf))
    kinds = {d.kind for d in diff.compare_file(str(path))}
    assert kinds == {"all-refuse"}


@needs_readelf
def test_kind_readelf_unknown_machine(tmp_path: Path) -> None:
    """readelf names machines in words; those missing from READELF_MACHINES compare through LIEF only."""
    path = tmp_path / "m68k"
    path.write_bytes(write(ElfSpec(elf_class=32, endianness="big", machine=4, needed=("libc.so.6",))))
    found = diff.compare_file(str(path))
    assert [(d.kind, d.fact) for d in found] == [("readelf-unknown-machine", "e_machine")]
    assert found[0].linkcheck == found[0].lief == 4


@needs_readelf
def test_kind_readelf_sectionless(tmp_path: Path) -> None:
    """Without section headers readelf -V prints no version tables; LIEF and linkcheck read them
    through DT_VERNEED/DT_VERDEF."""
    spec = ElfSpec(needed=("libc.so.6",), version_needs=(("libc.so.6", ("GLIBC_2.2.5",)),),
                   imports=(Import("puts", "GLIBC_2.2.5"),), section_headers=False)
    path = tmp_path / "nosections"
    path.write_bytes(write(spec))
    found = diff.compare_file(str(path))
    assert [(d.kind, d.fact) for d in found] == [("readelf-sectionless", "version_needs")]
    assert found[0].linkcheck == found[0].lief == (("libc.so.6", ("GLIBC_2.2.5",)),)


def test_classify_references_disagree() -> None:
    """When readelf and LIEF disagree, agreeing with either is explained; with neither is not."""
    a, b = diff.Facts(soname="x"), diff.Facts(soname="y")
    assert diff.classify("soname", "x", a, b) == "references-disagree"
    assert diff.classify("soname", "y", a, b) == "references-disagree"
    assert diff.classify("soname", "z", a, b) == "linkcheck-differs"
    assert diff.classify("soname", "x", a, diff.Facts(soname="x")) is None


@needs_readelf
def test_a_real_difference_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison can fail: a linkcheck that drops DT_RUNPATH is caught as 'linkcheck-differs'."""
    path = tmp_path / "runpath"
    path.write_bytes(write(ElfSpec(needed=("libc.so.6",), runpath="$ORIGIN/lib")))
    real = diff.linkcheck_facts

    def broken(data: bytes, name: str = "") -> object:
        f = real(data, name)
        f.runpath = ()
        return f

    monkeypatch.setattr(diff, "linkcheck_facts", broken)
    found = diff.compare_file(str(path))
    assert [(d.kind, d.fact) for d in found] == [("linkcheck-differs", "runpath")]


@needs_readelf
def test_script_runs_and_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for i, name in enumerate(["a", "b"]):
        (tmp_path / name).write_bytes(write(ElfSpec(needed=(f"lib{i}.so",))))
    (tmp_path / "not-elf").write_text("hello")
    assert diff.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "files compared: 2" in out and "no disagreements" in out
