"""linkcheck.facts.elf.parse_elf against two independent readers (pyelftools, LIEF), and on corrupt files.

The differential tests read every ELF fixture and a deterministic sample of ELF files under /usr. The
corrupt variants are made here by patching named bytes of a fixture (or of /usr/bin/true when the
fixtures are absent); each must give exactly MalformedElfError or a result, never another exception.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from linkcheck.errors import MalformedElfError
from linkcheck.facts.elf import parse_elf
from linkcheck.model import ElfFacts, ExportNames

from conftest import FIXTURE_BIN, MANIFEST, load_manifest

SAMPLE_SIZE = 200
SAMPLE_MAX_BYTES = 3 << 20  # keeps pyelftools' share of the run short


def _is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def fixture_elves() -> list[Path]:
    if not MANIFEST.exists():
        return []
    out = []
    for entry in load_manifest().values():
        path = FIXTURE_BIN.parent / entry["path"]
        if entry.get("format") == "elf" and "machine" in entry and path.exists():
            out.append(path)
    return sorted(out)


def usr_sample() -> list[Path]:
    """Every n-th ELF file under /usr in sorted walk order, so the same machine gives the same sample."""
    found: list[str] = []
    for root, dirs, files in os.walk("/usr"):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            try:
                size = os.path.getsize(path)
            except OSError:
                continue
            if 64 <= size <= SAMPLE_MAX_BYTES and _is_elf(path):
                found.append(path)
    step = max(1, len(found) // SAMPLE_SIZE)
    return [Path(p) for p in found[::step][:SAMPLE_SIZE]]


def ours(path: Path) -> dict[str, Any]:
    e = parse_elf(path.read_bytes(), str(path))
    return {
        "interpreter": e.interpreter,
        "needed": list(e.needed),
        "soname": e.soname,
        "rpath": list(e.rpath),
        "runpath": list(e.runpath),
        "version_needs": [(n.library, list(n.versions)) for n in e.version_needs],
        "version_definitions": list(e.version_definitions),
        "imports": sorted((s.name, s.version or "") for s in e.imports),
        "exports": sorted((s.name, s.version or "", s.hidden) for s in e.exports),
    }


def by_pyelftools(path: Path) -> dict[str, Any]:
    from elftools.elf.dynamic import DynamicSegment
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerDefSection, GNUVerNeedSection, GNUVerSymSection
    from elftools.elf.sections import SymbolTableSection
    from elftools.elf.segments import InterpSegment

    out: dict[str, Any] = {"interpreter": None, "needed": [], "soname": None, "rpath": [], "runpath": []}
    with path.open("rb") as f:
        elf = ELFFile(f)
        seen_dynamic = False
        for seg in elf.iter_segments():
            if isinstance(seg, InterpSegment) and out["interpreter"] is None:
                out["interpreter"] = seg.get_interp_name()
            elif isinstance(seg, DynamicSegment) and not seen_dynamic:
                seen_dynamic = True
                for typed_tag in seg.iter_tags():
                    tag: Any = typed_tag  # pyelftools sets needed/soname/rpath/runpath per tag at run time
                    kind = tag.entry.d_tag
                    if kind == "DT_NEEDED":
                        out["needed"].append(tag.needed)
                    elif kind == "DT_SONAME":
                        out["soname"] = tag.soname
                    elif kind == "DT_RPATH":
                        out["rpath"] = tag.rpath.split(":") if tag.rpath else []
                    elif kind == "DT_RUNPATH":
                        out["runpath"] = tag.runpath.split(":") if tag.runpath else []
        index: dict[int, str] = {}
        needs: list[tuple[str, list[str]]] = []
        defs: list[str] = []
        versym = dynsym = None
        for sec in elf.iter_sections():
            if isinstance(sec, GNUVerNeedSection):
                for verneed, auxs in sec.iter_versions():
                    names = []
                    for aux in auxs:
                        names.append(aux.name)
                        index[aux["vna_other"] & 0x7FFF] = aux.name
                    assert verneed.name is not None
                    needs.append((verneed.name, names))
            elif isinstance(sec, GNUVerDefSection):
                for verdef, auxs in sec.iter_versions():
                    first = next(iter(auxs)).name
                    index[verdef["vd_ndx"]] = first
                    if not verdef["vd_flags"] & 1:
                        defs.append(first)
            elif isinstance(sec, GNUVerSymSection):
                versym = sec
            elif isinstance(sec, SymbolTableSection) and sec["sh_type"] == "SHT_DYNSYM":
                dynsym = sec
        out["version_needs"] = needs
        out["version_definitions"] = defs
        imports, exports = [], []
        if dynsym is not None:
            for i, sym in enumerate(dynsym.iter_symbols()):
                info = sym["st_info"]
                if i == 0 or info["bind"] == "STB_LOCAL" or info["type"] in ("STT_SECTION", "STT_FILE"):
                    continue
                if not sym.name:
                    continue
                version, hidden = "", False
                if versym is not None:
                    ndx = versym.get_symbol(i)["ndx"]
                    if isinstance(ndx, int) and ndx & 0x7FFF > 1:
                        version = index.get(ndx & 0x7FFF, "")
                        hidden = bool(ndx & 0x8000)
                if sym["st_shndx"] == "SHN_UNDEF":
                    imports.append((sym.name, version))
                else:
                    exports.append((sym.name, version, hidden))
        out["imports"] = sorted(imports)
        out["exports"] = sorted(exports)
    return out


def by_lief(path: Path) -> dict[str, Any]:
    import lief

    lief.logging.disable()
    b = lief.ELF.parse(str(path))
    assert b is not None, f"LIEF could not parse {path}"
    tag = lief.ELF.DynamicEntry.TAG
    out: dict[str, Any] = {
        "interpreter": b.interpreter if b.has_interpreter else None,
        "needed": [],
        "soname": None,
        "rpath": [],
        "runpath": [],
    }
    for entry in b.dynamic_entries:
        if entry.tag == tag.NEEDED and isinstance(entry, lief.ELF.DynamicEntryLibrary):
            out["needed"].append(entry.name)
        elif entry.tag == tag.SONAME and isinstance(entry, lief.ELF.DynamicSharedObject):
            out["soname"] = entry.name
        elif entry.tag == tag.RPATH and isinstance(entry, lief.ELF.DynamicEntryRpath):
            out["rpath"] = list(entry.paths)
        elif entry.tag == tag.RUNPATH and isinstance(entry, lief.ELF.DynamicEntryRunPath):
            out["runpath"] = list(entry.paths)
    out["version_needs"] = [
        (req.name, [aux.name for aux in req.get_auxiliary_symbols()]) for req in b.symbols_version_requirement
    ]
    out["version_definitions"] = [
        list(d.auxiliary_symbols)[0].name for d in b.symbols_version_definition if not d.flags & 1
    ]
    imports, exports = [], []
    for i, sym in enumerate(b.dynamic_symbols):
        if i == 0 or sym.binding == lief.ELF.Symbol.BINDING.LOCAL or not sym.name:
            continue
        if sym.type in (lief.ELF.Symbol.TYPE.SECTION, lief.ELF.Symbol.TYPE.FILE):
            continue
        version, hidden = "", False
        sv = sym.symbol_version if sym.has_version else None
        if sv is not None and sv.value & 0x7FFF > 1 and sv.has_auxiliary_version:
            aux = sv.symbol_version_auxiliary
            assert aux is not None and isinstance(aux.name, str)
            version = aux.name
            hidden = bool(sv.value & 0x8000)
        if sym.shndx == 0:
            imports.append((sym.name, version))
        else:
            exports.append((sym.name, version, hidden))
    out["imports"] = sorted(imports)
    out["exports"] = sorted(exports)
    return out


def _differences(path: Path, oracle: Any, skip: tuple[str, ...] = ()) -> list[str]:
    try:
        mine = ours(path)
    except MalformedElfError as exc:
        return [f"{path}: linkcheck refused it: {exc}"]
    theirs = oracle(path)
    return [
        f"{path}: {key}: linkcheck {mine[key]!r:.300} != {theirs[key]!r:.300}"
        for key in mine
        if key not in skip and mine[key] != theirs[key]
    ]


def _has_sections(path: Path) -> bool:
    return parse_elf(path.read_bytes(), str(path)).has_section_headers


@pytest.mark.skipif(not fixture_elves(), reason="fixtures not built")
@pytest.mark.parametrize("path", fixture_elves(), ids=lambda p: p.name)
def test_fixture_agrees_with_pyelftools(path: Path) -> None:
    # pyelftools reads symbol versions and .dynsym from section headers only: without them it sees
    # none, while linkcheck reads them through the dynamic segment (the point of doing so).
    skip = () if _has_sections(path) else ("version_needs", "version_definitions", "imports", "exports")
    assert _differences(path, by_pyelftools, skip) == []


@pytest.mark.skipif(not fixture_elves(), reason="fixtures not built")
@pytest.mark.parametrize("path", fixture_elves(), ids=lambda p: p.name)
def test_fixture_agrees_with_lief(path: Path) -> None:
    assert _differences(path, by_lief) == []


@pytest.fixture(scope="module")
def sample() -> list[Path]:
    paths = usr_sample()
    if len(paths) < 20:
        pytest.skip("fewer than 20 ELF files under /usr")
    return paths


def test_usr_sample_agrees_with_pyelftools(sample: list[Path]) -> None:
    problems: list[str] = []
    for path in sample:
        skip = () if _has_sections(path) else ("version_needs", "version_definitions", "imports", "exports")
        problems += _differences(path, by_pyelftools, skip)
    assert problems == []


def test_usr_sample_agrees_with_lief(sample: list[Path]) -> None:
    problems: list[str] = []
    for path in sample:
        problems += _differences(path, by_lief)
    assert problems == []


def test_section_stripped_file_keeps_versions_and_symbols() -> None:
    """Removing section headers must not change what is read through the dynamic segment."""
    whole = base_bytes()
    stripped = bytearray(whole)
    cls = whole[4]
    # e_shoff, e_shnum, e_shstrndx -> 0
    if cls == 2:
        struct.pack_into("<Q", stripped, 0x28, 0)
        struct.pack_into("<HHH", stripped, 0x3A, 0, 0, 0)
    else:
        struct.pack_into("<I", stripped, 0x20, 0)
        struct.pack_into("<HHH", stripped, 0x2E, 0, 0, 0)
    a, b = parse_elf(whole, "whole"), parse_elf(bytes(stripped), "stripped")
    assert a.has_section_headers and not b.has_section_headers
    assert b.version_needs == a.version_needs and b.version_needs
    assert b.imports == a.imports and b.imports
    assert b.needed == a.needed and b.interpreter == a.interpreter


# ----------------------------------------------------------------------------------------------
# Corrupt variants
# ----------------------------------------------------------------------------------------------


def base_bytes() -> bytes:
    """A little-endian 64-bit dynamically linked PIE with version needs."""
    path = FIXTURE_BIN / "c-glibc-dynamic"
    if not path.exists():
        path = Path("/usr/bin/true")
    return path.read_bytes()


class Layout:
    """Offsets in the base file, found with pyelftools (an independent reader)."""

    def __init__(self, data: bytes) -> None:
        import io

        from elftools.elf.dynamic import DynamicSegment
        from elftools.elf.elffile import ELFFile

        elf = ELFFile(io.BytesIO(data))
        self.phoff = elf["e_phoff"]
        self.phentsize = elf["e_phentsize"]
        self.phnum = elf["e_phnum"]
        self.shoff = elf["e_shoff"]
        self.segments = [(s["p_type"], s["p_offset"], s["p_filesz"]) for s in elf.iter_segments()]
        dyn = next(s for s in elf.iter_segments() if isinstance(s, DynamicSegment))
        self.dynamic = dyn["p_offset"]
        self.dynamic_size = dyn["p_filesz"]
        self.tags = [(t.entry.d_tag, t.entry.d_val) for t in dyn.iter_tags()]
        verneed = elf.get_section_by_name(".gnu.version_r")
        dynstr = elf.get_section_by_name(".dynstr")
        assert verneed is not None and dynstr is not None
        self.verneed = verneed["sh_offset"]
        self.dynstr = dynstr["sh_offset"]
        self.dynstr_size = dynstr["sh_size"]

    def boundaries(self) -> Iterator[int]:
        yield from (0, 1, 4, 5, 15, 16, 17, 63, 64)
        for k in range(self.phnum + 1):
            yield self.phoff + k * self.phentsize
            yield self.phoff + k * self.phentsize - 1
        for _type, off, size in self.segments:
            yield from (off, off + 1, off + size - 1, off + size)
        for k in range(self.dynamic_size // 16 + 1):
            yield self.dynamic + 16 * k
        yield from (self.verneed, self.verneed + 8, self.dynstr, self.dynstr + self.dynstr_size // 2)
        yield from (self.shoff, self.shoff + 64)

    def tag_offset(self, name: str) -> int:
        """File offset of the first dynamic entry with this tag."""
        for i, (tag, _val) in enumerate(self.tags):
            if tag == name:
                return self.dynamic + 16 * i
        raise KeyError(name)


def parse_or_refuse(data: bytes) -> ElfFacts | None:
    """parse_elf's result, or None when it refused with MalformedElfError; anything else fails the test."""
    try:
        facts = parse_elf(data, "corrupt")
    except MalformedElfError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("corrupt: ")
        return None
    # Reading everything lazily decoded must not fail either.
    assert isinstance(facts.imports, tuple) and isinstance(facts.exports, tuple)
    return facts


@pytest.fixture(scope="module")
def base() -> tuple[bytes, Layout]:
    data = base_bytes()
    if data[4] != 2 or data[5] != 1:
        pytest.skip("base file is not 64-bit little-endian")
    return data, Layout(data)


def test_truncated_at_each_header_boundary(base: tuple[bytes, Layout]) -> None:
    data, lay = base
    for cut in sorted(set(lay.boundaries())):
        if 0 <= cut < len(data):
            facts = parse_or_refuse(data[:cut])
            if cut < lay.phoff + lay.phnum * lay.phentsize:
                assert facts is None, f"cut at {cut} (inside the headers) was accepted"


def test_program_headers_past_the_end(base: tuple[bytes, Layout]) -> None:
    data, _lay = base
    bad = bytearray(data)
    struct.pack_into("<Q", bad, 0x20, len(data) + 8)  # e_phoff
    pattern = r"program header table at 0x[0-9a-f]+, \d+ entries .* past the end"
    with pytest.raises(MalformedElfError, match=pattern):
        parse_elf(bytes(bad), "x")


def test_huge_program_header_count(base: tuple[bytes, Layout]) -> None:
    data, _lay = base
    bad = bytearray(data)
    struct.pack_into("<H", bad, 0x38, 0xFFFE)  # e_phnum
    with pytest.raises(MalformedElfError, match="program header table"):
        parse_elf(bytes(bad), "x")


def test_bad_class_and_encoding(base: tuple[bytes, Layout]) -> None:
    data, _lay = base
    with pytest.raises(MalformedElfError, match="ELF class 3"):
        parse_elf(data[:4] + b"\x03" + data[5:], "x")
    with pytest.raises(MalformedElfError, match="data encoding 0"):
        parse_elf(data[:5] + b"\x00" + data[6:], "x")


def test_dynamic_segment_without_dt_null(base: tuple[bytes, Layout]) -> None:
    data, lay = base
    bad = bytearray(data)
    # Turn every DT_NULL in the segment into DT_DEBUG (21, ignored by readers): no terminator left.
    for k in range(lay.dynamic_size // 16):
        at = lay.dynamic + 16 * k
        if struct.unpack_from("<q", bad, at)[0] == 0:
            struct.pack_into("<qQ", bad, at, 21, 0)
    facts = parse_elf(bytes(bad), "x")
    assert any("DT_NULL" in w for w in facts.warnings)
    assert facts.needed == parse_elf(data, "x").needed


def test_needed_string_outside_the_table(base: tuple[bytes, Layout]) -> None:
    data, lay = base
    bad = bytearray(data)
    struct.pack_into("<Q", bad, lay.tag_offset("DT_NEEDED") + 8, lay.dynstr_size + 100)
    with pytest.raises(MalformedElfError, match="DT_NEEDED string at offset"):
        parse_elf(bytes(bad), "x")


def test_string_table_address_outside_every_segment(base: tuple[bytes, Layout]) -> None:
    data, lay = base
    bad = bytearray(data)
    struct.pack_into("<Q", bad, lay.tag_offset("DT_STRTAB") + 8, 0x7FFF_0000_0000)
    with pytest.raises(MalformedElfError, match="DT_STRTAB at address 0x7fff00000000"):
        parse_elf(bytes(bad), "x")


def test_version_need_chain_past_the_end_is_a_warning(base: tuple[bytes, Layout]) -> None:
    data, lay = base
    bad = bytearray(data)
    struct.pack_into("<Q", bad, lay.tag_offset("DT_VERNEEDNUM") + 8, 0xFFFF_FFFF)
    struct.pack_into("<I", bad, lay.verneed + 12, 0x7FFF_FFF0)  # vn_next of the first entry
    facts = parse_elf(bytes(bad), "x")
    good = parse_elf(data, "x")
    assert facts.version_needs[0] == good.version_needs[0]
    assert any("version need chain" in w for w in facts.warnings)


def test_version_need_count_larger_than_the_chain(base: tuple[bytes, Layout]) -> None:
    data, lay = base
    bad = bytearray(data)
    struct.pack_into("<Q", bad, lay.tag_offset("DT_VERNEEDNUM") + 8, 0xFFFF_FFFF)
    # The last entry's vn_next is 0: the chain ends there whatever the count says.
    facts = parse_elf(bytes(bad), "x")
    assert facts.version_needs == parse_elf(data, "x").version_needs


def test_vernaux_count_huge_and_looping(base: tuple[bytes, Layout]) -> None:
    data, lay = base
    bad = bytearray(data)
    struct.pack_into("<H", bad, lay.verneed + 2, 0xFFFF)  # vn_cnt
    vn_aux = struct.unpack_from("<I", bad, lay.verneed + 8)[0]
    first_aux = lay.verneed + vn_aux
    struct.pack_into("<I", bad, first_aux + 12, 0)  # vna_next: the first auxiliary entry ends the list
    facts = parse_or_refuse(bytes(bad))
    assert facts is not None and len(facts.version_needs[0].versions) == 1


def test_random_byte_flips_never_escape(base: tuple[bytes, Layout]) -> None:
    """Flip bytes in the headers and tables the reader follows; only MalformedElfError may escape."""
    data, lay = base
    rng = random.Random(20240601)
    hot = [(0, 64), (lay.phoff, lay.phnum * lay.phentsize), (lay.dynamic, lay.dynamic_size),
           (lay.verneed, 64), (lay.dynstr, min(lay.dynstr_size, 256))]
    for _ in range(400):
        bad = bytearray(data)
        for _flip in range(rng.randint(1, 4)):
            start, size = rng.choice(hot)
            bad[start + rng.randrange(size)] = rng.randrange(256)
        parse_or_refuse(bytes(bad))


def test_memoryview_and_bytes_read_the_same(base: tuple[bytes, Layout]) -> None:
    data, _lay = base
    assert parse_elf(memoryview(data), "x") == parse_elf(data, "x")


def test_symbols_are_decoded_only_when_asked_for(base: tuple[bytes, Layout]) -> None:
    """parse_elf reads no symbol table: the header-level facts, their repr and to_dict's header part
    leave ``symbols.decoded`` False; the first read decodes once, and the facts then compare, hash and
    print like facts built with the same symbols by hand."""
    import dataclasses

    from linkcheck.model import Symbols

    facts = parse_elf(base[0], "x")
    _ = (facts.needed, facts.version_needs, facts.warnings, facts.bind_now, facts.linkage, repr(facts))
    assert not facts.symbols.decoded
    assert facts.imports and facts.symbols.decoded
    plain = dataclasses.replace(facts, symbols=Symbols.of(facts.imports, facts.exports, **{
        "lazy_imports": facts.symbols.lazy_imports, "irelative": facts.symbols.irelative}))
    assert plain == facts and hash(plain) == hash(facts)
    assert plain != dataclasses.replace(facts, symbols=Symbols.of(facts.imports[1:], facts.exports))


# ----------------------------------------------------------------------------------------------
# Go build info against `go version -m` (which reads the file; it does not run it)
# ----------------------------------------------------------------------------------------------


def go_fixtures() -> list[Path]:
    return [p for p in fixture_elves() if p.name.startswith("go-")]


def go_version_m(path: Path) -> tuple[str, str | None, list[tuple[str, str]]]:
    import subprocess

    cmd = ["go", "version", "-m", str(path)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    version = lines[0].rsplit(": ", 1)[1]
    main = None
    settings = []
    for line in lines[1:]:
        fields_ = line.strip("\t").split("\t")
        if fields_[0] == "path":
            main = fields_[1]
        elif fields_[0] == "build":
            key, _, value = fields_[1].partition("=")
            if value.startswith('"'):  # Go quotes values with blanks; the simple escapes match JSON's
                value = json.loads(value)
            settings.append((key, value))
    return version, main, settings


@pytest.mark.skipif(not shutil.which("go"), reason="go not installed")
@pytest.mark.parametrize("path", go_fixtures(), ids=lambda p: p.name)
def test_go_build_info_agrees_with_go_version_m(path: Path) -> None:
    info = parse_elf(path.read_bytes(), str(path)).toolchain.go
    assert info is not None
    assert (info.go_version, info.main_module, list(info.settings)) == go_version_m(path)


# ----------------------------------------------------------------------------------------------
# Hostile sharing: records and strings pointed at many times stay linear
# ----------------------------------------------------------------------------------------------


def test_verneed_entries_sharing_one_aux_chain_are_read_once() -> None:
    """Point the second Verneed entry's vn_aux at the first entry's Vernaux chain."""
    path = FIXTURE_BIN / "cxx-glibc"  # needs versions from libstdc++, libgcc_s/libm and libc
    data = path.read_bytes() if path.exists() else base_bytes()
    lay = Layout(data)
    bad = bytearray(data)
    vn_next_1 = struct.unpack_from("<I", bad, lay.verneed + 12)[0]
    if vn_next_1 == 0:
        pytest.skip("base file has one version need entry")
    # Offsets are unsigned and relative, so only a forward share is possible: the first entry takes
    # the second entry's chain; the second then finds its records already read.
    second = lay.verneed + vn_next_1
    vn_aux_2 = struct.unpack_from("<I", bad, second + 8)[0]
    struct.pack_into("<I", bad, lay.verneed + 8, second + vn_aux_2 - lay.verneed)
    facts = parse_elf(bytes(bad), "x")
    good = parse_elf(data, "x")
    assert facts.version_needs[0].library == good.version_needs[0].library
    vn_cnt_1 = struct.unpack_from("<H", bad, lay.verneed + 2)[0]
    assert facts.version_needs[0].versions == good.version_needs[1].versions[:vn_cnt_1]
    assert facts.version_needs[1].versions == ()
    assert any("broken" in w for w in facts.warnings)


def test_symbol_names_pointing_into_one_long_string_are_capped(base: tuple[bytes, Layout]) -> None:
    """Every symbol's st_name points into one long name: decoding stops at a cap, with a warning."""
    data, lay = base
    long_name = b"L" * 1_000_000
    bad = bytearray(data) + long_name + b"\0"
    good = parse_elf(data, "x")
    # Grow the string table over the appended name: move DT_STRTAB's target to a new copy of it at
    # the end of the file, inside a PT_LOAD widened to cover it.
    import io

    from elftools.elf.elffile import ELFFile

    elf = ELFFile(io.BytesIO(data))
    dynsym = elf.get_section_by_name(".dynsym")
    assert dynsym is not None
    first_load = next(i for i, s in enumerate(elf.iter_segments()) if s["p_type"] == "PT_LOAD")
    seg = elf.get_segment(first_load)
    new_strtab = len(bad)
    bad += data[lay.dynstr : lay.dynstr + lay.dynstr_size] + long_name + b"\0"
    vaddr_of_new = seg["p_vaddr"] + (new_strtab - seg["p_offset"])
    at = lay.phoff + first_load * lay.phentsize
    struct.pack_into("<QQ", bad, at + 32, len(bad) - seg["p_offset"], len(bad) - seg["p_offset"])
    struct.pack_into("<Q", bad, lay.tag_offset("DT_STRTAB") + 8, vaddr_of_new)
    struct.pack_into("<Q", bad, lay.tag_offset("DT_STRSZ") + 8, len(bad) - new_strtab)
    count = dynsym["sh_size"] // 24
    for i in range(1, count):
        struct.pack_into("<I", bad, dynsym["sh_offset"] + 24 * i, lay.dynstr_size + i)
    facts = parse_elf(bytes(bad), "x")
    assert facts.needed == good.needed  # the table is still read
    decoded = sum(len(s.name) for s in facts.imports) + sum(len(s.name) for s in facts.exports)
    assert decoded <= 4 * (len(bad) - new_strtab) + (1 << 20)
    if (count - 1) * len(long_name) > 4 * (len(bad) - new_strtab) + (1 << 20):
        assert any("decoding capped" in w for w in facts.symbols.warnings)
    # Reading only what a check needs (the exports' names are skipped) caps at the same symbols.
    assert_linking_reads_as_whole(parse_elf(bytes(bad), "x"), parse_elf(bytes(bad), "x"))


def test_a_name_skipped_is_charged_to_the_cap_as_a_decoded_one() -> None:
    """A reading that skips some names (a check skips a library's exports) must cap at the same names
    as one decoding them all, in any order of names."""
    from linkcheck.facts.elf import _Strtab

    raw = b"\0" + b"L" * 300_000 + b"\0short\0"
    rng = random.Random(7)
    offsets = [*rng.choices(range(len(raw)), k=200), raw.index(b"short")]
    whole, skipping = _Strtab(raw), _Strtab(raw)
    for offset in offsets:
        whole.get(offset)
        (skipping.measure if rng.random() < 0.5 else skipping.get)(offset)
    assert whole.exhausted and skipping.exhausted and whole.budget == skipping.budget
    names = [whole.get(o) for o in offsets]
    assert None in names and "short" in names
    assert [skipping.get(o) for o in offsets] == names


@pytest.mark.parametrize("seed", range(6))
def test_names_that_cannot_reach_the_cap_are_told_apart(seed: int) -> None:
    """Skipped names need no charging when decoding them all could not reach the cap (what real string
    tables are): told by their lengths, names into the tails of others included."""
    from array import array

    from linkcheck.facts.elf import _Strtab

    rng = random.Random(seed)
    raw = b"\0".join(b"n" * rng.randrange(1, 3000) for _ in range(400)) + b"\0tail"
    offsets = array("I", rng.choices(range(len(raw) + 10), k=(50, 3000, 20000)[seed % 3]))
    table = _Strtab(raw)
    expected = sum(raw.find(b"\0", o) - o for o in set(offsets) if o <= table.last_nul) > table.budget
    assert table.could_exhaust(offsets) is expected
    for o in offsets:
        table.get(o)
    assert table.exhausted is expected


def assert_linking_reads_as_whole(whole: ElfFacts, linking: ElfFacts) -> None:
    """``linking`` read as a check reads it (imports, binding, relocations; the exports' names) gives
    what ``whole``, decoded whole first, gives."""
    got = (linking.imports, linking.symbols.lazy_imports, linking.symbols.irelative, linking.symbols.copied,
           linking.symbols.self_refs, linking.symbols.export_names())
    exports = whole.exports
    names = ({e.name for e in exports if not e.hidden}
             | {f"{e.name}@{e.version}" for e in exports if e.version is not None})
    assert got == (whole.imports, whole.symbols.lazy_imports, whole.symbols.irelative, whole.symbols.copied,
                   whole.symbols.self_refs, ExportNames(frozenset(names),
                                                        frozenset(e.name for e in exports if e.ifunc)))
    assert linking.symbols.get() == whole.symbols.get()  # and the whole decoding after it too


@pytest.mark.parametrize("path", [f"/usr/lib/x86_64-linux-gnu/{n}" for n in ("libc.so.6", "libstdc++.so.6",
                                                                             "libm.so.6")]
                         + ["/usr/bin/python3", "/usr/bin/ls"])
def test_reading_for_a_check_gives_what_decoding_everything_gives(path: str) -> None:
    """A check reads a file's imports and relocations but not its exports (most of a library's table),
    and a target library's exports as names only: the same facts as decoding the whole table."""
    if not os.path.exists(path):
        pytest.skip(f"{path} not on this machine")
    data = Path(path).read_bytes()
    whole = parse_elf(data, path)
    whole.symbols.get()
    assert_linking_reads_as_whole(whole, parse_elf(data, path))


def test_go_build_info_in_the_pre_1_18_pointer_format() -> None:
    """Rewrite a Go 1.19 build info blob into the Go 1.13-1.17 layout (two pointers to Go string
    headers) and read the same facts back."""
    import io

    from elftools.elf.elffile import ELFFile

    path = FIXTURE_BIN / "go-static"
    if not path.exists():
        pytest.skip("go fixture not built")
    data = path.read_bytes()
    sec = ELFFile(io.BytesIO(data)).get_section_by_name(".go.buildinfo")
    assert sec is not None
    off, addr = sec["sh_offset"], sec["sh_addr"]
    assert data[off : off + 14] == b"\xff Go buildinf:" and data[off + 15] & 2

    def varint(pos: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            b = data[pos]
            pos += 1
            value |= (b & 0x7F) << shift
            if b < 0x80:
                return value, pos
            shift += 7

    n, pos = varint(off + 32)
    version = data[pos : pos + n]
    n, pos = varint(pos + n)
    modinfo = data[pos : pos + n]
    bad = bytearray(data)
    bad[off + 15] = 0  # little-endian, pointer format
    headers, strings = off + 32, off + 64
    struct.pack_into("<QQ", bad, off + 16, addr + (headers - off), addr + (headers + 16 - off))
    struct.pack_into("<QQ", bad, headers, addr + (strings - off), len(version))
    struct.pack_into("<QQ", bad, headers + 16, addr + (strings + len(version) - off), len(modinfo))
    bad[strings : strings + len(version) + len(modinfo)] = version + modinfo
    old, new = parse_elf(data, "new").toolchain.go, parse_elf(bytes(bad), "old").toolchain.go
    assert new is not None and old == new


def test_symbol_name_outside_the_string_table_is_skipped_with_a_warning(base: tuple[bytes, Layout]) -> None:
    import io

    from elftools.elf.elffile import ELFFile

    data, lay = base
    dynsym = ELFFile(io.BytesIO(data)).get_section_by_name(".dynsym")
    assert dynsym is not None
    bad = bytearray(data)
    struct.pack_into("<I", bad, dynsym["sh_offset"] + 24, lay.dynstr_size + 10)  # symbol 1's st_name
    good, facts = parse_elf(data, "x"), parse_elf(bytes(bad), "x")
    assert len(facts.imports) + len(facts.exports) == len(good.imports) + len(good.exports) - 1
    assert any("outside the string table" in w for w in facts.symbols.warnings)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not an ELF file (no \\x7fELF magic)"),
        (b"\x7fEL", "not an ELF file (no \\x7fELF magic)"),
        (b"MZ\x90\x00" + bytes(60), "not an ELF file (no \\x7fELF magic)"),
        (b"\x7fELF\x02\x01", "ELF identification needs 16 bytes, the file has 6"),
        (b"\x7fELF\x02\x01\x01" + bytes(20), "ELF header needs 64 bytes, the file has 27"),
        (b"\x7fELF\x01\x02\x01" + bytes(20), "ELF header needs 52 bytes, the file has 27"),
    ],
)
def test_short_or_foreign_data_is_refused_by_name(data: bytes, message: str) -> None:
    with pytest.raises(MalformedElfError) as info:
        parse_elf(data, "short")
    assert str(info.value) == f"short: {message}"


# ----------------------------------------------------------------------------------------------
# What the loaders act on beyond names: lazy binding, IFUNCs, IRELATIVE, non-default versions.
# Each file is compiled here by gcc and the facts are compared with readelf's reading of it.
# ----------------------------------------------------------------------------------------------

_IFUNC_C = """
#include <stdio.h>
static int impl(void) { return 42; }
static void *resolve(void) { return (void *)impl; }
int chosen(void) __attribute__((ifunc("resolve")));
int plain(void) { return 1; }
int main(void) { int (*f)(int) = abs; printf("%d\\n", chosen() + f(-1)); fputs("x", stdout); return 0; }
"""
_IFUNC_C = "#include <stdlib.h>\n" + _IFUNC_C


def _cc(tmp_path: Path, source: str, name: str, *flags: str) -> Path:
    import subprocess

    src = tmp_path / f"{name}.c"
    src.write_text(source)
    out = tmp_path / name
    subprocess.run(["gcc", "-O1", "-o", str(out), str(src), *flags], check=True)
    return out


def _readelf(*args: str) -> str:
    import subprocess

    return subprocess.run(["readelf", "-W", *args], check=True, capture_output=True, text=True).stdout


def _reloc_symbols(path: Path) -> dict[str, set[str]]:
    """readelf -r: relocation section name -> the symbol names its entries name."""
    out: dict[str, set[str]] = {}
    current = ""
    for line in _readelf("-r", str(path)).splitlines():
        if line.startswith("Relocation section"):
            current = line.split("'")[1]
            out[current] = set()
            continue
        parts = line.split()
        if current and len(parts) >= 5 and parts[2].startswith("R_"):
            out[current].add(parts[4].split("@")[0])
    return out


needs_cc = pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("readelf") is None,
                              reason="needs gcc and readelf (scripts/test.sh installs them)")


@needs_cc
@pytest.mark.parametrize(("flag", "expected"), [("-Wl,-z,now", True), ("-Wl,-z,lazy", False)])
def test_bind_now_is_what_the_linker_wrote(tmp_path: Path, flag: str, expected: bool) -> None:
    prog = _cc(tmp_path, _IFUNC_C, "prog", flag)
    dynamic = _readelf("-d", str(prog))
    assert ("BIND_NOW" in dynamic or "Flags: NOW" in dynamic) is expected  # readelf agrees
    facts = parse_elf(prog.read_bytes(), "prog")
    assert facts.bind_now is expected
    assert not facts.symbols.decoded  # a header-level fact: no symbol table read


@needs_cc
def test_irelative_relocations_and_ifunc_exports_are_seen(tmp_path: Path) -> None:
    prog = _cc(tmp_path, _IFUNC_C, "prog")
    lib = _cc(tmp_path, _IFUNC_C, "lib.so", "-shared", "-fPIC")
    plain = _cc(tmp_path, "int main(void) { return 0; }", "plain")
    assert "R_X86_64_IRELATIVE" in _readelf("-r", str(prog))  # the program calls its own IFUNC
    assert "R_X86_64_IRELATIVE" not in _readelf("-r", str(lib))  # the library exports it instead
    assert parse_elf(prog.read_bytes(), "prog").symbols.irelative
    assert not parse_elf(lib.read_bytes(), "lib").symbols.irelative
    assert not parse_elf(plain.read_bytes(), "plain").symbols.irelative
    exports = {e.name: e for e in parse_elf(lib.read_bytes(), "lib").exports}
    assert exports["chosen"].ifunc and not exports["plain"].ifunc
    # readelf's IFUNC symbols in the system's libc are exactly those the reader marks.
    libc = Path("/lib/x86_64-linux-gnu/libc.so.6")
    if libc.exists():
        marked = {e.name for e in parse_elf(libc.read_bytes(), "libc").exports if e.ifunc}
        listed = {line.split()[7].split("@")[0] for line in _readelf("--dyn-syms", str(libc)).splitlines()
                  if len(line.split()) >= 8 and line.split()[3] == "IFUNC" and line.split()[6] != "UND"}
        assert marked == listed and "memcpy" in marked


@needs_cc
def test_lazy_imports_are_those_only_plt_relocations_name(tmp_path: Path) -> None:
    """glibc binds DT_JMPREL entries at first call; any other relocation naming a symbol binds it at
    start (a function whose address is taken, data such as stdout)."""
    prog = _cc(tmp_path, _IFUNC_C, "prog", "-Wl,-z,lazy")
    facts = parse_elf(prog.read_bytes(), "prog")
    relocs = _reloc_symbols(prog)
    expected = relocs.get(".rela.plt", set()) - relocs.get(".rela.dyn", set())
    assert facts.symbols.lazy_imports == frozenset(expected)
    assert "printf" in expected and "abs" not in expected and "stdout" not in expected
    for path in (Path("/usr/bin/ls"), Path("/usr/bin/python3")):
        if path.exists():
            relocs = _reloc_symbols(path.resolve())
            got = parse_elf(path.resolve().read_bytes(), str(path)).symbols.lazy_imports
            assert got == frozenset(relocs.get(".rela.plt", set()) - relocs.get(".rela.dyn", set()) - {""})


@needs_cc
def test_non_default_versions_are_hidden_exports(tmp_path: Path) -> None:
    src = """
int old_f(void) { return 1; }
int new_f(void) { return 2; }
__asm__(".symver old_f, f@V1");
__asm__(".symver new_f, f@@V2");
"""
    script = tmp_path / "v.map"
    script.write_text("V1 { global: f; local: *; };\nV2 { global: f; } V1;\n")
    lib = _cc(tmp_path, src, "libv.so", "-shared", "-fPIC", f"-Wl,--version-script={script}")
    got = {(e.name, e.version, e.hidden) for e in parse_elf(lib.read_bytes(), "libv").exports}
    assert ("f", "V1", True) in got and ("f", "V2", False) in got
    listed = _readelf("--dyn-syms", str(lib))
    assert "f@V1" in listed and "f@@V2" in listed


# ----------------------------------------------------------------------------------------------
# Dynamic information is where the loader looks: PT_DYNAMIC, never the sections of a file that has
# program headers.
# ----------------------------------------------------------------------------------------------


def _retype_segment(data: bytes, old: int, new: int) -> bytes:
    """A 64-bit little-endian ELF file with every program header of type ``old`` made type ``new``."""
    out = bytearray(data)
    (phoff,) = struct.unpack_from("<Q", out, 32)
    (phnum,) = struct.unpack_from("<H", out, 56)
    for i in range(phnum):
        if struct.unpack_from("<I", out, phoff + i * 56)[0] == old:
            struct.pack_into("<I", out, phoff + i * 56, new)
    return bytes(out)


def test_dynamic_information_comes_from_pt_dynamic_not_sections() -> None:
    from elfwriter import ElfSpec, write

    spec = ElfSpec(interp="/lib64/ld-linux-x86-64.so.2", needed=("libc.so.6",))
    data = write(spec)
    assert parse_elf(data, "f").needed == ("libc.so.6",)
    # PT_DYNAMIC gone (PT_NULL), the .dynamic section still there: the loader sees no dynamic segment.
    dropped = parse_elf(_retype_segment(data, 2, 0), "f")
    assert dropped.needed == () and dropped.symbols.imports == ()
    # Without program headers at all (e_phnum 0), the sections are all there is: they are read.
    sectioned = bytearray(data)
    struct.pack_into("<H", sectioned, 56, 0)
    assert parse_elf(bytes(sectioned), "f").needed == ("libc.so.6",)


@needs_cc
def test_dropped_dynamic_segment_reads_as_the_loader_sees_it(tmp_path: Path) -> None:
    import subprocess

    prog = _cc(tmp_path, "int puts(const char *); int main(void) { return puts(\"x\") < 0; }", "prog")
    dropped = tmp_path / "dropped"
    dropped.write_bytes(_retype_segment(prog.read_bytes(), 2, 0))
    dropped.chmod(0o755)
    assert "no dynamic section" in _readelf("-d", str(dropped))
    facts = parse_elf(dropped.read_bytes(), "dropped")
    assert facts.needed == () and facts.interpreter == "/lib64/ld-linux-x86-64.so.2"
    loader = Path("/lib64/ld-linux-x86-64.so.2")
    if loader.exists():
        # The real loader, asked to list what it would load, finds nothing to link.
        listed = subprocess.run([str(loader), "--list", str(dropped)], capture_output=True, text=True)
        assert listed.returncode != 0 and "has no dynamic section" in listed.stderr
        assert "libc.so.6" in subprocess.run([str(loader), "--list", str(prog)], capture_output=True,
                                             text=True, check=True).stdout


# ----------------------------------------------------------------------------------------------
# Separate debug-info files (objcopy --only-keep-debug): headers and notes kept, every loaded section
# NOBITS, PT_INTERP and PT_DYNAMIC with no bytes behind them.
# ----------------------------------------------------------------------------------------------


@needs_cc
@pytest.mark.skipif(shutil.which("objcopy") is None, reason="needs objcopy (binutils)")
@pytest.mark.parametrize("flags", [(), ("-static",), ("-shared", "-fPIC")], ids=["pie", "static", "library"])
def test_debug_info_file_is_read_as_debug_info(tmp_path: Path, flags: tuple[str, ...]) -> None:
    import subprocess

    from linkcheck.facts.reader import analyze
    from linkcheck.model import Linkage

    source = "int puts(const char *); int main(void) { return puts(\"x\") < 0; }"
    built = _cc(tmp_path, source, "prog", *flags)
    debug = tmp_path / "prog.debug"
    subprocess.run(["objcopy", "--only-keep-debug", str(built), str(debug)], check=True)
    build_id = next(line.split("Build ID:")[1].strip() for line in _readelf("-n", str(built)).splitlines()
                    if "Build ID:" in line)
    facts = parse_elf(debug.read_bytes(), "prog.debug")  # no MalformedElfError for the empty PT_INTERP
    assert facts.linkage is Linkage.DEBUG_INFO and facts.build_id == build_id
    assert facts.needed == () and facts.interpreter is None and facts.warnings == ()
    analysis = analyze(debug)
    assert analysis.description.startswith(f"ELF 64-bit LSB x86_64 debug info for build ID {build_id}")
    # The program itself is not debug info.
    assert parse_elf(built.read_bytes(), "prog").linkage is not Linkage.DEBUG_INFO
    # What the verdict says happens, happens: the kernel refuses an empty PT_INTERP (ENOEXEC); without
    # one, the program dies at its first instruction; a loader finds no dynamic section.
    debug.chmod(0o755)
    if analysis.kernel_refusal is not None:
        with pytest.raises(OSError, match="Exec format error"):
            subprocess.run([str(debug)], check=False)
    else:
        assert subprocess.run([str(debug)], check=False).returncode == -11  # SIGSEGV
    if "-shared" in flags:
        import ctypes

        with pytest.raises(OSError, match="object file has no dynamic section"):
            ctypes.CDLL(str(debug))
