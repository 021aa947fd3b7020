"""The test-only ELF writer writes what it is asked to: readelf and LIEF read back exactly the spec's
facts. Then linkcheck's reader, on random specs: ``parse_elf(write(spec))`` gives the spec's facts."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from elfwriter import (
    EM_386,
    EM_AARCH64,
    EM_MIPS,
    EM_RISCV,
    EM_S390,
    EM_X86_64,
    ET_DYN,
    ET_EXEC,
    ElfSpec,
    Export,
    Import,
    elf_hash,
    write,
    write_with_layout,
)


def _load_differential() -> ModuleType:
    path = ROOT / "scripts" / "differential.py"
    spec = importlib.util.spec_from_file_location("linkcheck_differential", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


diff = _load_differential()
needs_readelf = pytest.mark.skipif(shutil.which("readelf") is None, reason="readelf (binutils) not installed")
EXAMPLES = int(os.environ.get("LINKCHECK_HYPOTHESIS_EXAMPLES", "0")) or None


def expected(spec: ElfSpec) -> dict[str, Any]:
    """What any correct reader must report for a file written from ``spec``."""
    return {
        "elf_class": spec.elf_class,
        "endianness": spec.endianness,
        "e_machine": spec.machine,
        "interpreter": spec.interp,
        "needed": spec.needed,
        "soname": spec.soname,
        "rpath": tuple(spec.rpath.split(":")) if spec.rpath is not None else (),
        "runpath": tuple(spec.runpath.split(":")) if spec.runpath is not None else (),
        "version_needs": spec.version_needs,
        "version_definitions": spec.version_definitions,
        "imports": frozenset((i.name, i.version, i.weak) for i in spec.imports),
        "exports": frozenset((x.name, x.version, x.hidden) for x in spec.exports),
    }


def facts_dict(f: Any, keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    keys = keys or (*diff.FACTS, "imports", "exports")
    return {k: f.get(k) for k in keys}


FULL = ElfSpec(
    interp="/lib64/ld-linux-x86-64.so.2",
    needed=("libc.so.6", "libm.so.6", "libfoo.so"),
    soname="libwritten.so.1",
    rpath="/opt/a:/opt/b",
    runpath="$ORIGIN/../lib",
    version_needs=(("libc.so.6", ("GLIBC_2.2.5", "GLIBC_2.34")), ("libm.so.6", ("GLIBC_2.29",))),
    version_definitions=("WRITTEN_1.0", "WRITTEN_2.0"),
    imports=(
        Import("puts", "GLIBC_2.2.5"),
        Import("__libc_start_main", "GLIBC_2.34"),
        Import("exp", "GLIBC_2.29"),
        Import("__gmon_start__", None, weak=True),
        Import("foo_init"),
    ),
    exports=(Export("api", "WRITTEN_1.0", hidden=True), Export("api", "WRITTEN_2.0"), Export("plain")),
    pie=True,
)

VARIANTS = [
    pytest.param(
        cls, endian, machine, sections, id=f"{cls}-{endian}-{machine}-{'sh' if sections else 'nosh'}"
    )
    for cls, endian, machine in (
        (64, "little", EM_X86_64),
        (32, "little", EM_386),
        (64, "big", EM_S390),
        (32, "big", EM_MIPS),
        (64, "little", EM_AARCH64),
    )
    for sections in (True, False)
]


def _write_tmp(tmp_path: Path, data: bytes, name: str = "written.elf") -> str:
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


def test_elf_hash_matches_the_abi_examples() -> None:
    # Values from the System V ABI's hash function, computed by hand for short names.
    assert elf_hash(b"") == 0
    assert elf_hash(b"a") == 0x61
    assert elf_hash(b"ab") == (0x61 << 4) + 0x62
    assert elf_hash(b"GLIBC_2.2.5") == 0x09691A75  # the vna_hash glibc binaries carry


def test_invalid_specs_are_refused() -> None:
    with pytest.raises(ValueError):
        write(ElfSpec(imports=(Import("f", "V_1"),)))
    with pytest.raises(ValueError):
        write(ElfSpec(exports=(Export("f", "V_1"),)))
    with pytest.raises(ValueError):
        write(ElfSpec(version_needs=(("a", ("V",)), ("a", ("W",)))))
    with pytest.raises(ValueError):
        write(ElfSpec(dynamic=False, needed=("libc.so.6",)))


@needs_readelf
@pytest.mark.parametrize(("cls", "endian", "machine", "sections"), VARIANTS)
def test_readelf_reads_what_was_written(
    tmp_path: Path, cls: int, endian: str, machine: int, sections: bool
) -> None:
    spec = ElfSpec(
        **{
            **FULL.__dict__,
            "elf_class": cls,
            "endianness": endian,
            "machine": machine,
            "section_headers": sections,
        }
    )
    path = _write_tmp(tmp_path, write(spec))
    got = facts_dict(diff.readelf_facts(path))
    want = expected(spec)
    if not sections:
        # readelf -V needs section headers; the version tables are checked through -D's symbols instead.
        want["version_needs"] = want["version_definitions"] = ()
    assert got == want


@pytest.mark.parametrize(("cls", "endian", "machine", "sections"), VARIANTS)
def test_lief_reads_what_was_written(cls: int, endian: str, machine: int, sections: bool) -> None:
    spec = ElfSpec(
        **{
            **FULL.__dict__,
            "elf_class": cls,
            "endianness": endian,
            "machine": machine,
            "section_headers": sections,
        }
    )
    if (machine, cls, sections) == (EM_S390, 64, False):
        spec = ElfSpec(**{**spec.__dict__, "hash_style": "gnu"})  # LIEF misreads s390x's DT_HASH (above)
    got = diff.lief_facts(write(spec))
    assert got is not None
    assert facts_dict(got) == expected(spec)


@needs_readelf
def test_static_exec_has_no_dynamic_facts(tmp_path: Path) -> None:
    spec = ElfSpec(elf_type=ET_EXEC, dynamic=False)
    data, lay = write_with_layout(spec)
    path = _write_tmp(tmp_path, data)
    assert facts_dict(diff.readelf_facts(path)) == expected(spec)
    assert ".dynamic" not in lay.sections


def test_layout_points_at_the_named_fields() -> None:
    data, lay = write_with_layout(FULL)
    off, size = lay.sections[".dynstr"]
    # DT_STRTAB's value is .dynstr's address; the first DT_NEEDED names libc.so.6.
    strtab_entry = lay.dyn_entry(5)
    assert int.from_bytes(data[strtab_entry + 8 : strtab_entry + 16], "little") == lay.base + off
    needed_entry = lay.dyn_entry(1)
    name_off = int.from_bytes(data[needed_entry + 8 : needed_entry + 16], "little")
    assert data[off + name_off : off + name_off + 10] == b"libc.so.6\0"
    assert len(lay.vernaux_offsets) == 3 and len(lay.verdef_offsets) == 3


# ----------------------------------------------------------------------------------------------
# Random specs
# ----------------------------------------------------------------------------------------------

_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
names = st.text(_NAME_CHARS, min_size=1, max_size=12)
libnames = st.builds(lambda n, v: f"lib{n}.so{v}", names, st.sampled_from(["", ".1", ".6", ".2.0"]))
versions = st.builds(
    lambda p, a, b: f"{p}_{a}.{b}",
    st.sampled_from(["GLIBC", "GLIBCXX", "FOO", "V"]),
    st.integers(0, 40),
    st.integers(0, 40),
)
paths = st.lists(st.text(_NAME_CHARS + ".-", min_size=1, max_size=8), min_size=1, max_size=4).map(
    lambda parts: "/" + "/".join(parts)
)
dirlists = st.lists(
    st.one_of(paths, st.just("$ORIGIN"), st.just("$ORIGIN/../lib")), min_size=1, max_size=3
).map(":".join)
# (e_machine, class, endiannesses it really comes in). LIEF guesses endianness from e_machine, so a
# big-endian x86-64 is left to the hostile tests.
MACHINES = [
    (EM_X86_64, 64, ("little",)),
    (EM_386, 32, ("little",)),
    (EM_AARCH64, 64, ("little", "big")),
    (EM_S390, 64, ("big",)),
    (EM_MIPS, 32, ("little", "big")),
    (EM_RISCV, 64, ("little",)),
    (EM_S390, 32, ("big",)),
    (EM_X86_64, 32, ("little",)),
]


@st.composite
def specs(draw: st.DrawFn) -> ElfSpec:
    machine, cls, endians = draw(st.sampled_from(MACHINES))
    endian = draw(st.sampled_from(endians))
    libs = draw(st.lists(libnames, unique=True, max_size=4))
    all_versions = draw(st.lists(versions, unique=True, max_size=8))
    version_needs: list[tuple[str, tuple[str, ...]]] = []
    pool = list(all_versions)
    for lib in libs:
        k = draw(st.integers(0, min(3, len(pool))))
        if k:
            version_needs.append((lib, tuple(pool[:k])))
            pool = pool[k:]
    defs = tuple(pool)  # the rest become definitions
    needed_versions = [v for _, vs in version_needs for v in vs]
    imp_names = draw(st.lists(names, unique=True, max_size=6))
    imports = tuple(
        Import(n, draw(st.sampled_from([None, *needed_versions])), draw(st.booleans())) for n in imp_names
    )
    exp_names = draw(st.lists(names.map(lambda n: "x" + n), unique=True, max_size=4))
    exports = []
    for n in exp_names:
        v = draw(st.sampled_from([None, *defs]))
        exports.append(Export(n, v, v is not None and draw(st.booleans())))
    return ElfSpec(
        elf_class=cls,
        endianness=endian,
        machine=machine,
        elf_type=draw(st.sampled_from([ET_DYN, ET_EXEC])),
        interp=draw(st.one_of(st.none(), paths)),
        needed=tuple(libs),
        soname=draw(st.one_of(st.none(), libnames)),
        rpath=draw(st.one_of(st.none(), dirlists)),
        runpath=draw(st.one_of(st.none(), dirlists)),
        version_needs=tuple(version_needs),
        version_definitions=defs,
        imports=imports,
        exports=tuple(exports),
        section_headers=draw(st.booleans()),
        nodeflib=draw(st.booleans()),
        hash_style=draw(st.sampled_from(["sysv", "gnu", "both"])),
    )


@needs_readelf
@settings(
    max_examples=EXAMPLES or 40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(spec=specs())
def test_random_specs_read_back_by_readelf_and_lief(tmp_path: Path, spec: ElfSpec) -> None:
    data = write(spec)
    want = expected(spec)
    want_lief, want_readelf = dict(want), dict(want)
    if not spec.section_headers and spec.hash_style == "gnu" and not spec.exports:
        # Without .dynsym's size, both references count symbols by walking DT_GNU_HASH's chains, and
        # with no defined (hashed) symbol they count none: the undefined ones below symoffset are lost.
        for w in (want_lief, want_readelf):
            w["imports"] = frozenset()
    if (
        not spec.section_headers
        and (spec.machine, spec.elf_class) == (EM_S390, 64)
        and spec.hash_style != "gnu"
    ):
        # LIEF reads s390x's 8-byte DT_HASH words as 4-byte ones (readelf does not): its count is wrong.
        del want_lief["imports"], want_lief["exports"]
    lief_got = diff.lief_facts(data)
    assert lief_got is not None
    assert facts_dict(lief_got, tuple(want_lief)) == want_lief
    got = facts_dict(diff.readelf_facts(_write_tmp(tmp_path, data)), tuple(want_readelf))
    if not spec.section_headers:
        want_readelf["version_needs"] = want_readelf["version_definitions"] = ()
    assert got == want_readelf


# ----------------------------------------------------------------------------------------------
# linkcheck's reader on written files
# ----------------------------------------------------------------------------------------------


def _parse_elf() -> Any:
    elf = pytest.importorskip("linkcheck.facts.elf", reason="linkcheck.facts.elf not written yet")
    return elf.parse_elf


@pytest.mark.parametrize(("cls", "endian", "machine", "sections"), VARIANTS)
def test_parse_elf_reads_what_was_written(cls: int, endian: str, machine: int, sections: bool) -> None:
    parse_elf = _parse_elf()
    spec = ElfSpec(
        **{
            **FULL.__dict__,
            "elf_class": cls,
            "endianness": endian,
            "machine": machine,
            "section_headers": sections,
        }
    )
    facts = parse_elf(write(spec), "written")
    assert facts_dict(diff.linkcheck_facts(write(spec))) == expected(spec)
    assert facts.has_section_headers is sections
    assert facts.nodeflib is False


@settings(max_examples=EXAMPLES or 150, deadline=1000)
@given(spec=specs())
def test_parse_elf_on_random_specs(spec: ElfSpec) -> None:
    parse_elf = _parse_elf()
    data = write(spec)
    assert facts_dict(diff.linkcheck_facts(data)) == expected(spec)
    facts = parse_elf(data, "random")
    assert facts.nodeflib is spec.nodeflib
    assert facts.elf_type.value == ("dyn" if spec.elf_type == ET_DYN else "exec")
    assert facts.has_section_headers is spec.section_headers
