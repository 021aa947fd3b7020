"""A small, bounds-checked ELF reader: the facts the kernel and the dynamic loader act on.

Program headers are read first (PT_INTERP, PT_DYNAMIC, PT_LOAD, PT_NOTE) and the dynamic segment is
found through them, as the loader finds it, so files whose section headers were stripped read the same
and a file whose sections and PT_DYNAMIC disagree reads as the loader sees it. Section headers are used
only for files without program headers (relocatable objects) and to find a few named sections
(.dynsym for the symbol count, .go.buildinfo, .note.go.buildid, .gopclntab, .comment).

Error policy:

* What the kernel or loader needs to start the file -- the ELF header, the program header table,
  PT_INTERP, the dynamic segment, its string table and the strings DT_NEEDED/DT_SONAME/DT_RPATH/
  DT_RUNPATH point to -- raises ``MalformedElfError`` when out of bounds or inconsistent.
* What only refines the picture -- symbol versions (Verneed/Verdef chains), the dynamic symbol table,
  section headers, notes, Go build info -- is read as far as it is sound; the rest is dropped with a
  line in ``ElfFacts.warnings``.

Every loop is bounded by a count the file must be able to hold and by visited-offset sets.
"""

from __future__ import annotations

import array
import bisect
import itertools
import mmap
import struct
import sys
from collections.abc import Iterator
from typing import NamedTuple

from linkcheck.errors import MalformedElfError
from linkcheck.facts.arch import COPY_RELOC, EM_MIPS, EM_S390, IRELATIVE_RELOC, machine_names
from linkcheck.facts.classify import ElfEvidence, classify
from linkcheck.model import (
    DecodedSymbols,
    ElfFacts,
    ElfType,
    ExportNames,
    GoBuildInfo,
    Language,
    Libc,
    Linkage,
    SymbolExport,
    SymbolImport,
    Symbols,
    SymbolSource,
    Toolchain,
    VersionNeed,
)

# What parse_elf accepts; a memoryview is copied to bytes first (it has no find()).
Buffer = bytes | bytearray | memoryview | mmap.mmap
_Data = bytes | bytearray | mmap.mmap
_VersionMap = dict[int, tuple[str, str | None]]

ELF_MAGIC = b"\x7fELF"

PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_NOTE = 1, 2, 3, 4
PF_X = 1
NT_GNU_BUILD_ID = 3
SHT_DYNAMIC, SHT_NOBITS, SHT_DYNSYM = 6, 8, 11
DT_NULL, DT_NEEDED, DT_PLTRELSZ, DT_HASH, DT_STRTAB, DT_SYMTAB = 0, 1, 2, 4, 5, 6
DT_RELA, DT_RELASZ, DT_RELAENT = 7, 8, 9
DT_STRSZ, DT_SYMENT, DT_SONAME, DT_RPATH, DT_RUNPATH = 10, 11, 14, 15, 29
DT_REL, DT_RELSZ, DT_RELENT, DT_PLTREL, DT_DEBUG, DT_JMPREL, DT_BIND_NOW = 17, 18, 19, 20, 21, 23, 24
DT_FLAGS = 30
DF_BIND_NOW = 0x8
DF_1_NOW = 0x1
DT_GNU_HASH = 0x6FFFFEF5
DT_VERSYM = 0x6FFFFFF0
DT_FLAGS_1 = 0x6FFFFFFB
DT_VERDEF, DT_VERDEFNUM = 0x6FFFFFFC, 0x6FFFFFFD
DT_VERNEED, DT_VERNEEDNUM = 0x6FFFFFFE, 0x6FFFFFFF
DT_MIPS_SYMTABNO = 0x70000011
DF_1_NODEFLIB = 0x800
DF_1_PIE = 0x08000000
VER_FLG_BASE = 1
STB_LOCAL, STB_WEAK = 0, 2
STT_SECTION, STT_FILE, STT_GNU_IFUNC = 3, 4, 10
EM_ALPHA = 0x9026

_ET = {1: ElfType.REL, 2: ElfType.EXEC, 3: ElfType.DYN, 4: ElfType.CORE}
GO_BUILDINFO_MAGIC = b"\xff Go buildinf:"
# How far into each PT_LOAD to look for Go build info when there are no section headers
# (the linker puts .go.buildinfo at the start of the data segment).
_GO_SCAN_LIMIT = 1 << 20
_COMMENT_LIMIT = 4096


class _Layout:
    """Per-class, per-endianness struct formats."""

    def __init__(self, is64: bool, endian: str) -> None:
        e = endian
        self.is64 = is64
        if is64:
            self.ehdr = struct.Struct(e + "HHIQQQIHHHHHH")
            self.phdr = struct.Struct(e + "IIQQQQQQ")
            self.shdr = struct.Struct(e + "IIQQQQIIQQ")
            self.dyn = struct.Struct(e + "qQ")
            self.word = 8
        else:
            self.ehdr = struct.Struct(e + "HHIIIIIHHHHHH")
            self.phdr = struct.Struct(e + "IIIIIIII")
            self.shdr = struct.Struct(e + "IIIIIIIIII")
            self.dyn = struct.Struct(e + "iI")
            self.word = 4
        self.u16 = e + "H"
        self.u32 = e + "I"
        self.verneed = struct.Struct(e + "HHIII")
        self.vernaux = struct.Struct(e + "IHHII")
        self.verdef = struct.Struct(e + "HHHHIII")
        self.verdaux = struct.Struct(e + "II")
        self.nhdr = struct.Struct(e + "III")


_LAYOUTS = {
    (c, d): _Layout(c, "<" if d == "little" else ">") for c in (True, False) for d in ("little", "big")
}


def _malformed(where: str, what: str) -> MalformedElfError:
    return MalformedElfError(f"{where}: {what}")


class _Reader:
    def __init__(self, data: _Data, where: str) -> None:
        self.data = data
        self.size = len(data)
        self.where = where
        self.warnings: list[str] = []
        self.loads: list[tuple[int, int, int]] = []  # (vaddr, filesz, offset)
        self.e_machine = 0

    def bad(self, what: str) -> MalformedElfError:
        return _malformed(self.where, what)

    def warn(self, what: str) -> None:
        if what not in self.warnings:
            self.warnings.append(what)

    def fits(self, offset: int, length: int) -> bool:
        return offset >= 0 and length >= 0 and offset + length <= self.size

    def addr(self, vaddr: int, what: str) -> tuple[int, int]:
        """File offset of a virtual address, and how many file bytes follow it in its segment."""
        for start, filesz, offset in self.loads:
            if start <= vaddr < start + filesz:
                delta = vaddr - start
                avail = min(filesz - delta, self.size - offset - delta)
                if avail <= 0:
                    break
                return offset + delta, avail
        raise self.bad(f"{what} at address {vaddr:#x} is not inside any loaded part of the file")


class _Strtab:
    """A string table, decoded once per offset.

    Strings may overlap (linkers share suffixes), but a hostile file can point thousands of names
    into one long string; the bytes decoded are therefore capped at a few times the table's size,
    and ``get`` answers None past the cap with ``exhausted`` set."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.cache: dict[int, str] = {}
        self.budget = 4 * len(raw) + (1 << 20)
        self.exhausted = False
        # No string starts after the last NUL: answered without searching (a tail without NUL would
        # otherwise be searched again by every name pointing into it).
        self.last_nul = raw.rfind(b"\0")
        self.measured: dict[int, int] = {}  # offset -> end of the strings charged but not decoded

    def could_exhaust(self, offsets: array.array[int]) -> bool:
        """Whether decoding every string at ``offsets`` could reach the cap. When not, a reading may
        skip names without charging them: no reading of these names caps anywhere."""
        if self.exhausted:
            return True
        raw = self.raw
        pending = set(offsets) - self.cache.keys() - self.measured.keys()
        # First a bound, at C speed: strings that start after a NUL do not overlap (all of them cost
        # the table's size at most), and a linker points only a few names into the tails of others.
        inside = sorted(pending)
        inside = inside[bisect.bisect_left(inside, 1) : bisect.bisect_right(inside, self.last_nul)]
        before = bytes(map(raw.__getitem__, map((-1).__add__, inside)))
        bound = len(raw) + sum(raw.find(b"\0", o) - o for o in itertools.compress(inside, before))
        if bound <= self.budget:
            return False
        # The strings that start after a NUL, by offset.
        sizes = list(map(len, raw.split(b"\0")))
        lengths = dict(zip(itertools.accumulate(map((1).__add__, sizes), initial=0), sizes, strict=False))
        whole = pending & lengths.keys()
        total = sum(map(lengths.__getitem__, whole))
        for offset in pending - whole:
            if offset <= self.last_nul:
                total += raw.find(b"\0", offset) - offset
        return total > self.budget

    def measure(self, offset: int) -> None:
        """Charge the string at ``offset`` to the cap as ``get`` would, without decoding it: a reading
        that skips names then caps exactly where one decoding every name does."""
        if offset in self.cache or offset in self.measured or offset > self.last_nul:
            return
        end = self.raw.find(b"\0", offset)
        if end - offset > self.budget:
            self.exhausted = True
            return
        self.budget -= end - offset
        self.measured[offset] = end

    def get(self, offset: int) -> str | None:
        s = self.cache.get(offset)
        if s is not None:
            return s
        raw = self.raw
        if offset > self.last_nul:
            return None
        end = self.measured.pop(offset, -1)
        if end >= 0:  # charged already
            s = self.cache[offset] = raw[offset:end].decode("utf-8", "surrogateescape")
            return s
        end = raw.find(b"\0", offset)
        if end - offset > self.budget:
            self.exhausted = True
            return None
        self.budget -= end - offset
        s = raw[offset:end].decode("utf-8", "surrogateescape")
        self.cache[offset] = s
        return s


class _Header(NamedTuple):
    """The ELF header's fields that linkcheck reads (e_ident's class, data and OS ABI included)."""

    is64: bool
    endianness: str
    osabi: int
    type: int
    machine: int
    entry: int
    phoff: int
    shoff: int
    flags: int
    phentsize: int
    phnum: int
    shentsize: int
    shnum: int
    shstrndx: int


class Section(NamedTuple):
    """One section header (the same fields in both classes)."""

    name: int  # offset of the name in the section name table
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int


class _Segments(NamedTuple):
    """What the program headers say: the loaded parts, where PT_INTERP, PT_DYNAMIC and PT_NOTE are."""

    interp: tuple[int, int] | None  # (offset, size) of the first PT_INTERP
    dynamic: tuple[int, int] | None  # (offset, size) of the first PT_DYNAMIC
    notes: list[tuple[int, int, int]]  # (offset, size, alignment) of each distinct PT_NOTE
    # An executable PT_LOAD with no bytes in the file (memory only): its code is elsewhere, as in a
    # separate debug-info file (objcopy --only-keep-debug makes every loaded section NOBITS).
    code_absent: bool


class _Sections:
    """The section header table: how many headers it has, and the few looked up by name
    (_WANTED_SECTIONS). A header is unpacked only when asked for: most files need none but those few."""

    __slots__ = ("data", "shdr", "offset", "count", "entsize", "named")

    def __init__(self, data: _Data, shdr: struct.Struct, offset: int, count: int, entsize: int) -> None:
        self.data = data
        self.shdr = shdr
        self.offset = offset
        self.count = count
        self.entsize = entsize
        self.named: dict[str, Section] = {}

    def at(self, index: int) -> Section:
        return Section._make(self.shdr.unpack_from(self.data, self.offset + index * self.entsize))

    def every(self) -> list[Section]:
        return [self.at(i) for i in range(self.count)]

    def first_named(self, name_offsets: list[int]) -> int | None:
        """The index of the first section whose sh_name is one of ``name_offsets``, searched at C speed
        in the column of sh_name fields."""
        raw = self.data[self.offset : self.offset + self.count * self.entsize]
        if self.entsize % 4:
            column: list[int] | array.array[int] = [
                self.shdr.unpack_from(raw, i * self.entsize)[0] for i in range(self.count)]
        else:
            swap = (self.shdr.format[0] == "<") != (sys.byteorder == "little")
            column = _column(bytes(raw), "I", 0, self.entsize, swap)
        found = [column.index(n) for n in name_offsets if n in column]
        return min(found) if found else None


class _Dynamic(NamedTuple):
    """The dynamic segment: its tags (in order, repeated ones kept) and the strings they name."""

    tags: dict[int, list[int]]
    strtab: _Strtab | None
    needed: tuple[str, ...]
    soname: str | None
    rpath: tuple[str, ...]
    runpath: tuple[str, ...]
    flags_1: int
    bind_now: bool


_NO_SECTIONS = _Sections(b"", struct.Struct("<I"), 0, 0, 4)


def parse_elf(buf: Buffer, name: str = "") -> ElfFacts:
    """Read an ELF file's facts from ``buf`` (bytes, mmap or memoryview). ``name`` is used in messages.

    Raises MalformedElfError (one line, naming what is wrong) for a file the loader could not use.
    """
    where = name or "ELF data"
    data: _Data = bytes(buf) if isinstance(buf, memoryview) else buf
    hdr = _read_header(data, where)
    lay = _LAYOUTS[(hdr.is64, hdr.endianness)]
    r = _Reader(data, where)
    r.e_machine = hdr.machine
    elf_type = _ET.get(hdr.type, ElfType.OTHER)
    machine, docker_arch = machine_names(hdr.machine, 64 if hdr.is64 else 32, hdr.endianness, hdr.flags)

    # Section 0 first: with extended numbering (e_shnum 0, e_shstrndx SHN_XINDEX, e_phnum PN_XNUM)
    # it holds the real counts.
    shdr0: Section | None = None
    if hdr.shoff and hdr.shentsize >= lay.shdr.size and r.fits(hdr.shoff, lay.shdr.size):
        shdr0 = Section._make(lay.shdr.unpack_from(data, hdr.shoff))
    phnum = shdr0.info if hdr.phnum == 0xFFFF and shdr0 is not None else hdr.phnum

    segments = _read_program_headers(r, lay, hdr, phnum)
    # A separate debug-info file keeps PT_INTERP and PT_DYNAMIC with no bytes behind them: it has no
    # interpreter path or dynamic information to read (the kernel's refusal, if any, is kernel.py's).
    # A file whose code is absent but whose dynamic segment has bytes is damaged, not debug info.
    debug_info = segments.code_absent and (segments.dynamic is None or segments.dynamic[1] == 0)
    interpreter = None if debug_info else _read_interpreter(r, segments.interp)
    sections = _read_sections(r, lay, hdr, shdr0) if shdr0 is not None else _NO_SECTIONS
    dynamic_at = None if debug_info else segments.dynamic
    if not phnum and sections.count:
        # The loader sees only program headers: a file that has them and no PT_DYNAMIC has no dynamic
        # information, whatever its sections say. Objects without program headers (relocatable
        # files) are read through their sections: addresses stand in for segments, SHT_DYNAMIC for
        # the dynamic segment.
        every = sections.every()
        r.loads.extend((sh.addr, sh.size, sh.offset) for sh in every if sh.type != SHT_NOBITS and sh.addr)
        dynamic_at = next(((sh.offset, sh.size) for sh in every if sh.type == SHT_DYNAMIC), None)
    dyn = _read_dynamic_info(r, lay, dynamic_at)
    tags, strtab = dyn.tags, dyn.strtab

    version_needs: tuple[VersionNeed, ...] = ()
    version_definitions: tuple[str, ...] = ()
    symbols: SymbolSource | None = None
    if strtab is not None:
        # version index -> (version name, the library it is needed from; None for a definition)
        vmap: _VersionMap = {}
        if DT_VERNEED in tags:
            version_needs = _read_verneed(r, lay, tags, strtab, vmap)
        if DT_VERDEF in tags:
            version_definitions = _read_verdef(r, lay, tags, strtab, vmap)
        if DT_SYMTAB in tags or DT_JMPREL in tags or DT_RELA in tags or DT_REL in tags:
            if type(data) is bytes:
                # Immutable bytes are kept: the tables are found when the symbols are first asked for.
                symbols = _SymbolLocator(r, lay, tags, strtab, vmap, sections.named)
            else:
                # A mapping is closed, a bytearray may change, once parse_elf returns: found and copied now.
                symbols = _locate_symbols(r, lay, tags, strtab, vmap, sections.named)

    note_names, build_id = _read_notes(r, lay, segments.notes) if segments.notes else (set(), None)
    android = ("Android", 1) in note_names
    libc, linkage, evidence = classify(ElfEvidence(
        elf_type, interpreter, dyn.needed, dyn.soname, version_needs, bool(dyn.flags_1 & DF_1_PIE),
        hdr.entry, android, DT_DEBUG in tags, hdr.osabi, frozenset(owner for owner, _type in note_names),
        debug_info,
    ))
    # A PIE executable: flagged, or static-pie, or (older linkers) an interpreter and no SONAME.
    # libc.so.6 has a PT_INTERP too (it can be run) but is a library: its SONAME says so.
    pie = elf_type is ElfType.DYN and (
        bool(dyn.flags_1 & DF_1_PIE)
        or linkage is Linkage.STATIC_PIE
        or (interpreter is not None and dyn.soname is None)
    )
    if not phnum and elf_type in (ElfType.EXEC, ElfType.DYN):
        r.warn("no program headers: the kernel will not load this file")
    toolchain = _toolchain(r, sections, note_names, dyn.needed, strtab, libc)
    return ElfFacts(
        machine=machine,
        docker_arch=docker_arch,
        e_machine=hdr.machine,
        elf_class=64 if hdr.is64 else 32,
        endianness=hdr.endianness,
        osabi=hdr.osabi,
        elf_type=elf_type,
        pie=pie,
        interpreter=interpreter,
        needed=dyn.needed,
        soname=dyn.soname,
        rpath=dyn.rpath,
        runpath=dyn.runpath,
        nodeflib=bool(dyn.flags_1 & DF_1_NODEFLIB),
        version_needs=version_needs,
        version_definitions=version_definitions,
        has_section_headers=sections.count > 0,
        libc=libc,
        linkage=linkage,
        linkage_evidence=evidence,
        toolchain=toolchain,
        warnings=tuple(r.warnings),
        bind_now=dyn.bind_now,
        symbols=Symbols() if symbols is None else Symbols(source=symbols),
        build_id=build_id if debug_info else None,
    )


def _read_header(data: _Data, where: str) -> _Header:
    """The identification and the ELF header; MalformedElfError when either is cut short or unknown."""
    size = len(data)
    if bytes(data[:4]) != ELF_MAGIC:
        raise _malformed(where, "not an ELF file (no \\x7fELF magic)")
    if size < 16:
        raise _malformed(where, f"ELF identification needs 16 bytes, the file has {size}")
    ei_class, ei_data, osabi = data[4], data[5], data[7]
    if ei_class not in (1, 2):
        raise _malformed(where, f"unknown ELF class {ei_class} in e_ident (expected 1 or 2)")
    if ei_data not in (1, 2):
        raise _malformed(where, f"unknown ELF data encoding {ei_data} in e_ident (expected 1 or 2)")
    is64 = ei_class == 2
    endianness = "little" if ei_data == 1 else "big"
    lay = _LAYOUTS[(is64, endianness)]
    if size < 16 + lay.ehdr.size:
        raise _malformed(where, f"ELF header needs {16 + lay.ehdr.size} bytes, the file has {size}")
    (e_type, e_machine, _e_version, e_entry, e_phoff, e_shoff, e_flags, _e_ehsize, e_phentsize,
     e_phnum, e_shentsize, e_shnum, e_shstrndx) = lay.ehdr.unpack_from(data, 16)
    return _Header(is64, endianness, osabi, e_type, e_machine, e_entry, e_phoff, e_shoff, e_flags,
                   e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx)


def _read_program_headers(r: _Reader, lay: _Layout, hdr: _Header, phnum: int) -> _Segments:
    """The program header table: fills ``r.loads`` (each distinct PT_LOAD once) and says where the
    first PT_INTERP and PT_DYNAMIC and every distinct PT_NOTE are."""
    if not phnum:
        return _Segments(None, None, [], False)
    phoff, phentsize = hdr.phoff, hdr.phentsize
    if phentsize < lay.phdr.size:
        raise r.bad(f"program header entries are {phentsize} bytes, at least {lay.phdr.size} needed")
    if not r.fits(phoff, phnum * phentsize):
        raise r.bad(
            f"program header table at {phoff:#x}, {phnum} entries of {phentsize} bytes, "
            f"runs past the end of the file ({r.size} bytes)"
        )
    data = r.data
    if phentsize == lay.phdr.size:
        phdrs = list(lay.phdr.iter_unpack(data[phoff : phoff + phnum * phentsize]))
    else:
        phdrs = [lay.phdr.unpack_from(data, phoff + i * phentsize) for i in range(phnum)]
    interp: tuple[int, int] | None = None
    dynamic: tuple[int, int] | None = None
    notes: list[tuple[int, int, int]] = []
    seen_loads: set[tuple[int, int, int]] = set()
    seen_notes: set[tuple[int, int, int]] = set()
    code_absent = False
    is64 = hdr.is64
    for ph in phdrs:
        if is64:
            p_type, p_flags, p_offset, p_vaddr, _pa, p_filesz, p_memsz, p_align = ph
        else:
            p_type, p_offset, p_vaddr, _pa, p_filesz, p_memsz, p_flags, p_align = ph
        if p_type == PT_LOAD:
            if p_flags & PF_X and p_filesz == 0 and p_memsz:
                code_absent = True
            load = (p_vaddr, p_filesz, p_offset)
            if load not in seen_loads:  # a repeated header adds nothing but work
                seen_loads.add(load)
                r.loads.append(load)
        elif p_type == PT_INTERP and interp is None:
            interp = (p_offset, p_filesz)
        elif p_type == PT_DYNAMIC and dynamic is None:
            dynamic = (p_offset, p_filesz)
        elif p_type == PT_NOTE and (p_offset, p_filesz, p_align) not in seen_notes:
            seen_notes.add((p_offset, p_filesz, p_align))
            notes.append((p_offset, p_filesz, p_align))
    return _Segments(interp, dynamic, notes, code_absent)


def _read_interpreter(r: _Reader, at: tuple[int, int] | None) -> str | None:
    if at is None:
        return None
    off, length = at
    if length == 0:
        raise r.bad(f"PT_INTERP at {off:#x} is empty (0 bytes)")
    if not r.fits(off, length):
        raise r.bad(f"PT_INTERP at {off:#x}, {length} bytes, lies outside the file ({r.size} bytes)")
    raw = bytes(r.data[off : off + length])
    return raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _split_path(value: str) -> tuple[str, ...]:
    return tuple(value.split(":")) if value else ()


# Sections looked up by name; nothing else about sections is needed.
_WANTED_SECTIONS = (".dynsym", ".go.buildinfo", ".note.go.buildid", ".gopclntab", ".comment")


def _read_sections(r: _Reader, lay: _Layout, hdr: _Header, shdr0: Section) -> _Sections:
    """The section header table, with those in _WANTED_SECTIONS found by name. Problems here are
    warnings: the loader never reads section headers."""
    shoff, shentsize = hdr.shoff, hdr.shentsize
    shnum = hdr.shnum or shdr0.size
    shstrndx = shdr0.link if hdr.shstrndx == 0xFFFF else hdr.shstrndx
    if shnum == 0:
        return _NO_SECTIONS
    if not r.fits(shoff, shnum * shentsize):
        r.warn(f"section header table at {shoff:#x}, {shnum} entries of {shentsize} bytes, runs past the end")
        return _NO_SECTIONS
    sections = _Sections(r.data, lay.shdr, shoff, shnum, shentsize)
    if shstrndx >= shnum:
        if shstrndx:
            r.warn(f"section name table index {shstrndx} is past the {shnum} sections")
        return sections
    table = sections.at(shstrndx)
    if table.type == SHT_NOBITS or not r.fits(table.offset, table.size):
        r.warn("section name table lies outside the file")
        return sections
    names = bytes(r.data[table.offset : table.offset + table.size])
    for wanted in _WANTED_SECTIONS:
        # Every place the name (NUL-terminated) starts in the table; the first section bearing one wins.
        key = wanted.encode() + b"\0"
        starts: list[int] = []
        at = names.find(key)
        while at >= 0:
            starts.append(at)
            at = names.find(key, at + 1)
        index = sections.first_named(starts) if starts else None
        if index is not None:
            sections.named[wanted] = sections.at(index)
    return sections


def _read_dynamic_info(r: _Reader, lay: _Layout, at: tuple[int, int] | None) -> _Dynamic:
    """The dynamic segment's tags and the strings the loader reads from it (DT_NEEDED, DT_SONAME,
    DT_RPATH, DT_RUNPATH): MalformedElfError when those cannot be read."""
    tags = _read_dynamic(r, lay, at) if at is not None else {}
    if not tags:
        return _Dynamic(tags, None, (), None, (), (), 0, False)
    flags_1 = tags.get(DT_FLAGS_1, [0])[0]
    bind_now = (bool(flags_1 & DF_1_NOW) or bool(tags.get(DT_FLAGS, [0])[0] & DF_BIND_NOW)
                or DT_BIND_NOW in tags)
    if DT_STRTAB not in tags:
        if DT_NEEDED in tags or DT_SONAME in tags or DT_RPATH in tags or DT_RUNPATH in tags:
            raise r.bad("dynamic segment names libraries but has no DT_STRTAB")
        return _Dynamic(tags, None, (), None, (), (), flags_1, bind_now)
    strtab = _read_strtab(r, tags)
    needed = tuple(_dyn_string(r, strtab, v, "DT_NEEDED") for v in tags.get(DT_NEEDED, ()))
    soname = _dyn_string(r, strtab, tags[DT_SONAME][0], "DT_SONAME") if DT_SONAME in tags else None
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    if DT_RPATH in tags:
        rpath = _split_path(_dyn_string(r, strtab, tags[DT_RPATH][0], "DT_RPATH"))
    if DT_RUNPATH in tags:
        runpath = _split_path(_dyn_string(r, strtab, tags[DT_RUNPATH][0], "DT_RUNPATH"))
    return _Dynamic(tags, strtab, needed, soname, rpath, runpath, flags_1, bind_now)


def _read_dynamic(r: _Reader, lay: _Layout, where: tuple[int, int]) -> dict[int, list[int]]:
    off, length = where
    if not r.fits(off, length):
        raise r.bad(
            f"dynamic segment at {off:#x}, {length} bytes, runs past the end of the file ({r.size} bytes)"
        )
    if length == 0:
        r.warn("dynamic segment is empty in the file (a separate debug-info file?)")
        return {}
    esz = lay.dyn.size
    count = length // esz
    out: dict[int, list[int]] = {}
    terminated = False
    for tag, val in lay.dyn.iter_unpack(r.data[off : off + count * esz]):
        if tag == DT_NULL:
            terminated = True
            break
        out.setdefault(tag, []).append(val)
    if not terminated:
        r.warn("dynamic segment has no DT_NULL terminator; read up to its end")
    return out


def _read_strtab(r: _Reader, dyn: dict[int, list[int]]) -> _Strtab:
    off, avail = r.addr(dyn[DT_STRTAB][0], "DT_STRTAB")
    length = avail
    if DT_STRSZ in dyn:
        strsz = dyn[DT_STRSZ][0]
        if strsz > avail:
            raise r.bad(f"dynamic string table at {off:#x}, {strsz} bytes, runs past the end of its segment")
        length = strsz
    return _Strtab(bytes(r.data[off : off + length]))


def _dyn_string(r: _Reader, strtab: _Strtab, offset: int, tag: str) -> str:
    s = strtab.get(offset)
    if s is None and strtab.exhausted:
        raise r.bad(f"{tag} strings overlap far more than a linker writes them (decoding capped)")
    if s is None:
        raise r.bad(
            f"{tag} string at offset {offset} is outside the dynamic string table ({len(strtab.raw)} bytes)"
        )
    return s


def _chain(
    r: _Reader, record: struct.Struct, off: int, limit: int, next_at: int, seen: set[int], broken: str
) -> Iterator[tuple[int, tuple[int, ...]]]:
    """(offset, fields) of each record of a Verneed/Vernaux/Verdef chain, where field ``next_at`` is
    the byte distance to the next record (0 ends it). At most ``limit`` records, each offset once
    (``seen`` is shared by chains that must not meet); where the chain breaks, ``broken`` (with the
    offset) is a warning and the walk ends."""
    for _ in range(min(limit, r.size // record.size)):
        if off in seen or not r.fits(off, record.size):
            r.warn(broken.format(off))
            return
        seen.add(off)
        fields = record.unpack_from(r.data, off)
        yield off, fields
        if fields[next_at] == 0:
            return
        off += fields[next_at]


def _chain_start(r: _Reader, dyn: dict[int, list[int]], tag: int, num_tag: int, record: struct.Struct,
                 what: str) -> tuple[int, int] | None:
    """(file offset, record count bound) of the Verneed or Verdef table the tag points at."""
    try:
        off = r.addr(dyn[tag][0], "DT_VERNEED" if tag == DT_VERNEED else "DT_VERDEF")[0]
    except MalformedElfError as exc:
        r.warn(f"{what} not read: {_tail(exc)}")
        return None
    return off, dyn.get(num_tag, [r.size // record.size])[0]


def _read_verneed(
    r: _Reader, lay: _Layout, dyn: dict[int, list[int]], strtab: _Strtab, vmap: _VersionMap
) -> tuple[VersionNeed, ...]:
    start = _chain_start(r, dyn, DT_VERNEED, DT_VERNEEDNUM, lay.verneed, "version needs")
    if start is None:
        return ()
    out: list[VersionNeed] = []
    # Every Vernaux record is read once for the whole table: entries whose chains meet are cut
    # where they meet (a linker never shares records), which keeps hostile files linear.
    aseen: set[int] = set()
    for off, (_vn_version, vn_cnt, vn_file, vn_aux, _vn_next) in _chain(
        r, lay.verneed, *start, 4, set(), "version need chain is broken at {:#x}; later entries ignored"
    ):
        library = strtab.get(vn_file)
        if library is None:
            r.warn(f"version need file name at offset {vn_file} is outside the string table")
            library = "?"
        versions: list[str] = []
        broken = f"version need entries for {library} are broken at {{:#x}}"
        for _aoff, (_hash, _flags, other, vna_name, _vna_next) in _chain(
            r, lay.vernaux, off + vn_aux, vn_cnt, 4, aseen, broken
        ):
            vname = strtab.get(vna_name)
            if vname is None:
                r.warn(f"version name at offset {vna_name} is outside the string table")
            else:
                versions.append(vname)
                vmap[other & 0x7FFF] = (vname, library)
        out.append(VersionNeed(library, tuple(versions)))
    return tuple(out)


def _read_verdef(
    r: _Reader, lay: _Layout, dyn: dict[int, list[int]], strtab: _Strtab, vmap: _VersionMap
) -> tuple[str, ...]:
    start = _chain_start(r, dyn, DT_VERDEF, DT_VERDEFNUM, lay.verdef, "version definitions")
    if start is None:
        return ()
    out: list[str] = []
    for off, (_v, vd_flags, vd_ndx, vd_cnt, _hash, vd_aux, _vd_next) in _chain(
        r, lay.verdef, *start, 6, set(), "version definition chain is broken at {:#x}; later entries ignored"
    ):
        if vd_cnt and r.fits(off + vd_aux, lay.verdaux.size):
            vda_name, _vda_next = lay.verdaux.unpack_from(r.data, off + vd_aux)
            vname = strtab.get(vda_name)
            if vname is None:
                r.warn(f"version definition name at offset {vda_name} is outside the string table")
            else:
                vmap[vd_ndx & 0x7FFF] = (vname, None)
                if not vd_flags & VER_FLG_BASE:
                    out.append(vname)
    return tuple(out)


def _symbol_count(
    r: _Reader, lay: _Layout, dyn: dict[int, list[int]], named: dict[str, Section]
) -> int | None:
    """Number of dynamic symbols: .dynsym's size, else DT_MIPS_SYMTABNO, DT_HASH's nchain, or a walk
    of the DT_GNU_HASH chains to the highest symbol they reach."""
    sec = named.get(".dynsym")
    if sec is not None and sec.type == SHT_DYNSYM and sec.entsize:
        return int(sec.size // sec.entsize)
    if DT_MIPS_SYMTABNO in dyn:
        return int(dyn[DT_MIPS_SYMTABNO][0])
    data = r.data
    if DT_HASH in dyn:
        off, avail = r.addr(dyn[DT_HASH][0], "DT_HASH")
        # 64-bit s390x and Alpha use 8-byte hash table words (glibc's Elf_Symndx).
        wide = lay.is64 and r.e_machine in (EM_S390, EM_ALPHA)
        if avail < (16 if wide else 8):
            raise r.bad("DT_HASH table is truncated")
        fmt = lay.u32[0] + ("Q" if wide else "I")
        nchain: int = struct.unpack_from(fmt, data, off + (8 if wide else 4))[0]
        return nchain
    if DT_GNU_HASH in dyn:
        off, avail = r.addr(dyn[DT_GNU_HASH][0], "DT_GNU_HASH")
        if avail < 16:
            raise r.bad("DT_GNU_HASH table is truncated")
        nbuckets, symoffset, bloom_size, _shift = struct.unpack_from(lay.u32[0] + "4I", data, off)
        buckets_at = 16 + bloom_size * lay.word
        if buckets_at + 4 * nbuckets > avail:
            raise r.bad("DT_GNU_HASH buckets run past the end of their segment")
        buckets = struct.unpack_from(f"{lay.u32[0]}{nbuckets}I", data, off + buckets_at)
        top: int = max(buckets, default=0)
        if top < symoffset:
            return int(symoffset)
        chains_at = buckets_at + 4 * nbuckets
        first: int = chains_at + 4 * (top - symoffset)
        end = first + (avail - first) // 4 * 4
        low = 0 if lay.u32[0] == "<" else 3  # the byte holding each chain word's low bit
        # The chain ends at the first odd word: searched a chunk at a time at C speed (a byte
        # column, odd bytes marked), so a chain over a gigabyte of zeros is one pass, not a loop.
        pos = first
        release = _Releaser(data, off + pos)
        while pos < end:
            chunk_end = min(end, pos + _CHAIN_CHUNK)
            chunk = data[off + pos : off + chunk_end]  # a plain slice: a stepped one of a mapping is slow
            if chunk != _ZEROS[: len(chunk)]:  # zeros are even words: no end of chain there
                hit: int = chunk[low::4].translate(_ODD).find(1)
                if hit >= 0:
                    return top + (pos - first) // 4 + hit + 1
            release.upto(off + chunk_end)
            pos = chunk_end
        raise r.bad("DT_GNU_HASH chain runs past the end of its segment")
    return None


_CHAIN_CHUNK = 1 << 22
_ZEROS = bytes(_CHAIN_CHUNK)
_ODD = bytes(i & 1 for i in range(256))


class _Releaser:
    """Drops the pages of a mapping as a scan moves past them, so that scanning a huge (or sparse) file
    does not leave it all resident. Only whole 2 MiB blocks are dropped (the page cache may map a file
    in huge pages, which a partial drop keeps), each once the scan is past its end."""

    _BLOCK = 2 << 20

    def __init__(self, data: _Data, start: int) -> None:
        self.mapping = data if isinstance(data, mmap.mmap) else None
        self.done = -(-start // self._BLOCK) * self._BLOCK

    def upto(self, offset: int) -> None:
        end = offset // self._BLOCK * self._BLOCK
        if self.mapping is not None and end > self.done:
            self.mapping.madvise(mmap.MADV_DONTNEED, self.done, end - self.done)
            self.done = end


class _SymbolTable:
    """The dynamic symbol table and relocation tables, copied out of the file and checked; decoded
    into objects only when ``decode`` is called (by ``Symbols`` on first use). A plain class: building
    a dataclass at import costs more than this saves."""

    __slots__ = (
        "sym", "is64", "swap", "strtab", "versym", "vmap", "relocs", "irelative", "mips64", "warnings",
        "copy",
        "origin",
    )

    def __init__(
        self, sym: bytes, is64: bool, swap: bool, strtab: _Strtab, versym: bytes | None, vmap: _VersionMap,
        relocs: list[tuple[bytes, int, bool]], irelative: int | None, mips64: bool, warnings: list[str],
        copy: int | None = None,
        origin: array.array[int] | None = None,
    ) -> None:
        self.sym = sym  # the entries, index 0 included
        self.is64 = is64
        self.swap = swap  # the file's byte order is not this machine's
        self.strtab = strtab
        self.versym = versym  # one u16 per entry, or None
        self.vmap = vmap
        self.relocs = relocs  # (entries, entry size, from DT_JMPREL)
        self.irelative = irelative  # this machine's IRELATIVE type, if it has one
        self.mips64 = mips64  # MIPS64's r_info is laid out differently: relocations not decoded
        self.warnings = warnings  # found while locating the tables
        self.copy = copy  # this machine's COPY type, if it has one
        self.origin = origin  # for a compacted table: each entry's index in the file's table

    def decode(self, exports: bool = True) -> DecodedSymbols:
        """The symbols; without ``exports``, everything but the exports (in a library, most of the
        table: checking a file needs its imports, not what it offers)."""
        imports, exported, index, special, warnings = _decode_symbols(self, exports)
        lazy: frozenset[str] | None = None
        irelative = False
        copied: set[int] = set()
        named: set[int] = set()
        if not self.mips64:
            plt: set[int] = set()
            other: set[int] = set()
            for raw, esz, jmprel in self.relocs:
                types, syms = _reloc_columns(raw, esz, self.is64, self.swap)
                if self.irelative is not None and self.irelative in types:
                    irelative = True
                if self.copy is not None and self.copy in types:
                    copied.update(s for t, s in zip(types, syms, strict=True) if t == self.copy)
                (plt if jmprel else other).update(syms)
            lazy = frozenset(index[i] for i in plt - other if i in index)
            named = (plt | other) & special.keys()
        copies = frozenset(n for i in copied if (n := self._name(i)))
        self_refs = frozenset(special[i] for i in named)
        return DecodedSymbols(imports, exported, lazy, irelative, tuple(self.warnings) + warnings, copies,
                              self_refs)

    def export_names(self) -> ExportNames:
        """What a loader's lookup can find in the file, as names, without making an object per symbol."""
        return _export_names(self)

    def _name(self, i: int) -> str | None:
        """The name of symbol ``i``, or None when it has none the table can give."""
        esz = 24 if self.is64 else 16
        raw = self.sym[i * esz : i * esz + 4]
        if i == 0 or len(raw) < 4:
            return None
        little = (sys.byteorder == "little") != self.swap
        return self.strtab.get(int.from_bytes(raw, "little" if little else "big")) or None


def _reloc_columns(raw: bytes, esz: int, is64: bool, swap: bool) -> tuple[array.array[int], array.array[int]]:
    """(types, symbol indexes) of a REL or RELA table, at C speed."""
    if is64:
        # r_info is a u64: symbol in the high half, type in the low half.
        lo, hi = _column(raw, "I", 8, esz, swap), _column(raw, "I", 12, esz, swap)
        little = (sys.byteorder == "little") != swap
        return (lo, hi) if little else (hi, lo)
    info = _column(raw, "I", 4, esz, swap)
    return array.array("I", [v & 0xFF for v in info]), array.array("I", [v >> 8 for v in info])


class _SymbolLocator:
    """Finds the symbol and relocation tables in a file's bytes when the symbols are first asked for
    (most callers never ask), then decodes them as _SymbolTable does. Holds the bytes until then."""

    __slots__ = ("_args", "_table")

    def __init__(self, r: _Reader, lay: _Layout, tags: dict[int, list[int]], strtab: _Strtab,
                 vmap: _VersionMap, named: dict[str, Section]) -> None:
        self._args: tuple[_Reader, _Layout, dict[int, list[int]], _Strtab, _VersionMap,
                          dict[str, Section]] | None = (r, lay, tags, strtab, vmap, named)
        self._table: _SymbolTable | None = None

    def _located(self) -> _SymbolTable | None:
        if self._args is not None:
            self._table = _locate_symbols(*self._args)
            self._args = None
        return self._table

    def decode(self, exports: bool = True) -> DecodedSymbols:
        table = self._located()
        return DecodedSymbols() if table is None else table.decode(exports)

    def export_names(self) -> ExportNames:
        table = self._located()
        return ExportNames(frozenset(), frozenset()) if table is None else table.export_names()


def _locate_symbols(
    r: _Reader, lay: _Layout, dyn: dict[int, list[int]], strtab: _Strtab, vmap: _VersionMap,
    named: dict[str, Section],
) -> _SymbolTable | None:
    """Find and check the dynamic symbol table and relocation tables; problems become warnings
    (kept for when the symbols are decoded)."""
    esz = 24 if lay.is64 else 16
    data = r.data
    swap = (lay.u32[0] == "<") != (sys.byteorder == "little")
    warnings: list[str] = []
    sym = b""
    versym = None
    origin: array.array[int] | None = None
    count = _checked_symbol_count(r, lay, dyn, named, warnings) if DT_SYMTAB in dyn else None
    if count is not None and count > 1:
        off = r.addr(dyn[DT_SYMTAB][0], "DT_SYMTAB")[0]
        voff = None
        if DT_VERSYM in dyn:
            try:
                voff, vavail = r.addr(dyn[DT_VERSYM][0], "DT_VERSYM")
                if 2 * count > vavail:
                    voff = None
                    warnings.append("DT_VERSYM table is shorter than the symbol table; versions not read")
            except MalformedElfError as exc:
                warnings.append(f"symbol versions not read: {_tail(exc)}")
        if count * esz <= _COPY_LIMIT:
            sym = bytes(data[off : off + count * esz])
            versym = None if voff is None else bytes(data[voff : voff + 2 * count])
        else:
            sym, versym, origin = _compact_symbols(r, off, count, esz, voff)
    relocs = _locate_relocations(r, lay, dyn, warnings)
    if not sym and not relocs and not warnings:
        return None
    return _SymbolTable(sym, lay.is64, swap, strtab, versym, vmap, relocs, IRELATIVE_RELOC.get(r.e_machine),
                        r.e_machine == EM_MIPS and lay.is64, warnings, COPY_RELOC.get(r.e_machine), origin)


# A symbol table up to this size is copied whole (a memcpy); a larger one (no real library comes near:
# 8 MiB is over 300,000 symbols) keeps only the entries that can matter, read a chunk at a time, so
# what it costs is bounded by the symbols the file really holds, not by the count it claims.
_COPY_LIMIT = 8 << 20
_SYM_CHUNK = 1 << 22


def _compact_symbols(
    r: _Reader, off: int, count: int, esz: int, voff: int | None
) -> tuple[bytes, bytes | None, array.array[int]]:
    """The global/weak entries of a huge symbol table, their versym words and original indexes."""
    data = r.data
    info_at = 4 if esz == 24 else 12
    per_chunk = _SYM_CHUNK // esz
    kept: list[bytes] = []
    versions: list[bytes] = []
    origin = array.array("I")
    release = _Releaser(data, off)
    zeros = bytes(per_chunk * esz)
    for first in range(0, count, per_chunk):
        n = min(per_chunk, count - first)
        start = off + first * esz
        chunk = data[start : start + n * esz]
        mask = b"" if chunk == zeros else chunk[info_at::esz].translate(_KEEP_INFO)  # zeros: local
        if mask.find(1) >= 0:
            for j in itertools.compress(range(n), mask):
                kept.append(bytes(chunk[j * esz : (j + 1) * esz]))
                origin.append(first + j)
                if voff is not None:
                    at = voff + 2 * (first + j)
                    versions.append(bytes(data[at : at + 2]))
        release.upto(start + n * esz)
    return b"".join(kept), (b"".join(versions) if voff is not None else None), origin


def _checked_symbol_count(
    r: _Reader, lay: _Layout, dyn: dict[int, list[int]], named: dict[str, Section], warnings: list[str]
) -> int | None:
    """How many symbol entries to read: the count the file declares, bounded by what it holds."""
    esz = 24 if lay.is64 else 16
    try:
        count = _symbol_count(r, lay, dyn, named)
        if count is None:
            warnings.append(
                "dynamic symbol count unknown (no .dynsym, DT_HASH or DT_GNU_HASH); symbols not read"
            )
            return None
        avail = r.addr(dyn[DT_SYMTAB][0], "DT_SYMTAB")[1]
    except MalformedElfError as exc:
        warnings.append(f"dynamic symbols not read: {_tail(exc)}")
        return None
    syment = dyn.get(DT_SYMENT, [esz])[0]
    if syment != esz:
        warnings.append(f"DT_SYMENT is {syment}, expected {esz}; symbols not read")
        return None
    if count * esz > avail:
        warnings.append(
            f"dynamic symbol table claims {count} entries, only {avail // esz} fit; reading those"
        )
        count = avail // esz
    return count


def _locate_relocations(
    r: _Reader, lay: _Layout, dyn: dict[int, list[int]], warnings: list[str]
) -> list[tuple[bytes, int, bool]]:
    """The REL/RELA tables (DT_RELA, DT_REL) and the PLT ones (DT_JMPREL), as copied entries. Where
    the PLT table lies inside the RELA/REL one (some linkers count it in DT_RELASZ), it is cut out of
    that one, as glibc does."""
    rela_size = 24 if lay.is64 else 12
    rel_size = 16 if lay.is64 else 8
    ranges: list[tuple[int, int, int, bool]] = []  # (file offset, bytes, entry size, from DT_JMPREL)
    plt: tuple[int, int] | None = None
    try:
        if DT_JMPREL in dyn and DT_PLTRELSZ in dyn:
            esz = rela_size if dyn.get(DT_PLTREL, [DT_RELA])[0] == DT_RELA else rel_size
            off, avail = r.addr(dyn[DT_JMPREL][0], "DT_JMPREL")
            length = min(dyn[DT_PLTRELSZ][0], avail)
            ranges.append((off, length, esz, True))
            plt = (off, off + length)
        for tag, size_tag, ent_tag, esz in ((DT_RELA, DT_RELASZ, DT_RELAENT, rela_size),
                                            (DT_REL, DT_RELSZ, DT_RELENT, rel_size)):
            if tag not in dyn or size_tag not in dyn:
                continue
            if dyn.get(ent_tag, [esz])[0] != esz:
                warnings.append("relocation entry size is not the ABI's; relocations not read")
                continue
            off, avail = r.addr(dyn[tag][0], "relocation table")
            end = off + min(dyn[size_tag][0], avail)
            if plt is not None and off <= plt[0] < end:
                end = plt[0] if plt[1] >= end else end
            ranges.append((off, end - off, esz, False))
    except MalformedElfError as exc:
        warnings.append(f"relocations not read: {_tail(exc)}")
    return [(bytes(r.data[off : off + length - length % esz]), esz, jmprel)
            for off, length, esz, jmprel in ranges if length >= esz]


def _column(raw: bytes, code: str, first: int, stride: int, swap: bool) -> array.array[int]:
    """The field at byte ``first`` of every ``stride``-byte record in ``raw``, as an array of ``code``
    ("I" u32, "H" u16), sliced at C speed."""
    size = array.array(code).itemsize
    col = array.array(code, raw)[first // size :: stride // size]
    if swap:
        col.byteswap()
    return col


# st_info values kept: global, weak and GNU-unique bindings; not section or file symbols.
_KEEP_INFO = bytes(
    1 if (i >> 4) != STB_LOCAL and (i & 0xF) not in (STT_SECTION, STT_FILE) else 0 for i in range(256)
)


_Decoded = tuple[
    tuple[SymbolImport, ...], tuple[SymbolExport, ...], dict[int, str], dict[int, str], tuple[str, ...]
]
# One symbol table's columns: entry count, st_name, st_info, st_shndx, and the versym words (or None).
_Columns = tuple[int, "array.array[int]", bytes, "array.array[int]", "array.array[int] | None"]


def _columns(t: _SymbolTable) -> _Columns:
    esz = 24 if t.is64 else 16
    versym = None
    if t.versym is not None:
        versym = array.array("H", t.versym)
        if t.swap:
            versym.byteswap()
    return (len(t.sym) // esz, _column(t.sym, "I", 0, esz, t.swap), t.sym[4 if t.is64 else 12 :: esz],
            _column(t.sym, "H", 6 if t.is64 else 14, esz, t.swap), versym)


def _decode_symbols(t: _SymbolTable, exports_wanted: bool = True) -> _Decoded:
    """Imports (undefined) and exports (defined) of a symbol table, the name of each import by its
    index, the name of each IFUNC or non-default-version export by its index, and warnings. Names are
    decoded once each. Without ``exports_wanted`` no export is listed, and only the IFUNC and
    non-default-version ones' names are decoded (the others are charged to the string table's cap, so
    that every reading skips the same names)."""
    count, names, info, shndx, versym = _columns(t)
    if count == 0:
        return (), (), {}, {}, ()
    get = t.strtab.get
    charge = not exports_wanted and _could_exhaust(t, names, len(names) - shndx.count(0))
    imports: list[SymbolImport] = []
    exports: list[SymbolExport] = []
    index: dict[int, str] = {}
    special: dict[int, str] = {}
    vmap = t.vmap
    origin = t.origin
    for j in itertools.compress(range(count), info.translate(_KEEP_INFO)):
        i = j if origin is None else origin[j]
        if i == 0:
            continue
        if not exports_wanted and shndx[j] != 0 and info[j] & 0xF != STT_GNU_IFUNC and (
                versym is None or versym[j] < 0x8000 or versym[j] & 0x7FFF <= 1):
            if charge:
                t.strtab.measure(names[j])  # an export not special: not listed
            continue
        name = get(names[j])
        if not name:  # empty, outside the table, or past the decoding cap
            continue
        version = library = None
        hidden = False
        if versym is not None:
            vs = versym[j]
            if vs & 0x7FFF > 1:
                got = vmap.get(vs & 0x7FFF)
                if got is not None:
                    version, library = got
                hidden = vs >= 0x8000
        if shndx[j] == 0:
            imports.append(SymbolImport(name, version, library, info[j] >> 4 == STB_WEAK))
            index[i] = name
        else:
            ifunc = info[j] & 0xF == STT_GNU_IFUNC
            if exports_wanted:
                exports.append(SymbolExport(name, version, hidden, ifunc))
            if ifunc or hidden:
                special[i] = name
    warnings: list[str] = []
    if max(names) >= len(t.strtab.raw):
        warnings.append("some dynamic symbol names lie outside the string table; those symbols are skipped")
    if t.strtab.exhausted:
        warnings.append(
            "symbol names overlap far more than a linker writes them; decoding capped, some symbols skipped"
        )
    return tuple(imports), tuple(exports), index, special, tuple(warnings)


def _could_exhaust(t: _SymbolTable, names: array.array[int], skipped: int) -> bool:
    """Whether a reading that skips ``skipped`` of the table's names charges them to the string table's
    cap (``_Strtab.measure``), to cap where a reading of every name would: always when that costs less
    than telling whether it is needed (a few names, as a program's exports), or when it is."""
    return t.origin is not None or 4 * skipped <= len(names) or t.strtab.could_exhaust(names)


def _export_names(t: _SymbolTable) -> ExportNames:
    """``_decode_symbols``' exports as a loader's lookup matches them: "name" for each definition but a
    non-default version's, "name@VERSION" for each versioned one, and the IFUNC ones' names apart; no
    object per symbol. The imports' names are charged to the string table's cap, not decoded."""
    count, names, info, shndx, versym = _columns(t)
    get = t.strtab.get
    charge = _could_exhaust(t, names, shndx.count(0))
    vmap = t.vmap
    origin = t.origin
    found: set[str] = set()
    ifuncs: set[str] = set()
    for j in itertools.compress(range(count), info.translate(_KEEP_INFO)):
        if (j if origin is None else origin[j]) == 0:
            continue
        if shndx[j] == 0:
            if charge:
                t.strtab.measure(names[j])
            continue
        name = get(names[j])
        if not name:
            continue
        hidden = False
        if versym is not None and versym[j] & 0x7FFF > 1:
            got = vmap.get(versym[j] & 0x7FFF)
            if got is not None:
                found.add(f"{name}@{got[0]}")
            hidden = versym[j] >= 0x8000
        if not hidden:
            found.add(name)
        if info[j] & 0xF == STT_GNU_IFUNC:
            ifuncs.add(name)
    return ExportNames(frozenset(found), frozenset(ifuncs))


def _read_notes(
    r: _Reader, lay: _Layout, notes: list[tuple[int, int, int]]
) -> tuple[set[tuple[str, int]], str | None]:
    """(owner name, type) of every note in the PT_NOTE segments, and the GNU build ID in hex (the
    first NT_GNU_BUILD_ID note's contents). Each note record is read once
    (segments that overlap share them), and at most as many records as the file could hold twice over,
    so that thousands of headers over the same bytes cost what the bytes cost."""
    out: set[tuple[str, int]] = set()
    build_id: str | None = None
    visited: set[tuple[int, int]] = set()
    budget = 2 * (r.size // 12) + 64
    for off, length, align in notes:
        if not r.fits(off, length):
            r.warn(f"PT_NOTE at {off:#x} runs past the end of the file")
            continue
        step = 8 if align == 8 else 4
        pos, end = off, off + length
        while pos + 12 <= end:
            if (pos, step) in visited:
                break  # read from here on already
            if budget == 0:
                r.warn("note segments overlap far more than a linker writes them; some notes not read")
                return out, build_id
            visited.add((pos, step))
            budget -= 1
            namesz, descsz, ntype = lay.nhdr.unpack_from(r.data, pos)
            name_at = pos + 12
            desc_at = name_at + -(-namesz // step) * step
            nxt = desc_at + -(-descsz // step) * step
            if nxt > end:
                break
            owner = bytes(r.data[name_at : name_at + namesz]).rstrip(b"\0").decode("latin-1")
            out.add((owner, ntype))
            if ntype == NT_GNU_BUILD_ID and owner == "GNU" and build_id is None:
                build_id = bytes(r.data[desc_at : desc_at + min(descsz, 64)]).hex()
            pos = nxt
    return out, build_id


def _tail(exc: MalformedElfError) -> str:
    """An error's message without the leading "<where>: "."""
    return exc.message.split(": ", 1)[-1]


# ----------------------------------------------------------------------------------------------
# Toolchain
# ----------------------------------------------------------------------------------------------


def _toolchain(
    r: _Reader, sections: _Sections, note_names: set[tuple[str, int]], needed: tuple[str, ...],
    strtab: _Strtab | None, libc: Libc,
) -> Toolchain:
    named = sections.named
    go_evidence: list[str] = []
    go: GoBuildInfo | None = None
    sec = named.get(".go.buildinfo")
    if sec is not None:
        go_evidence.append("section .go.buildinfo")
        if sec.type != SHT_NOBITS and r.fits(sec.offset, sec.size):
            go = _go_buildinfo_at(r, sec.offset, sec.offset + sec.size)
    if ".note.go.buildid" in named or ("Go", 4) in note_names:
        go_evidence.append("Go build ID note")
    if ".gopclntab" in named:
        go_evidence.append("section .gopclntab")
    if go is None and not sections.count:
        go = _scan_go_buildinfo(r)
        if go is not None:
            go_evidence.append("Go build info in the data segment")
    if go_evidence:
        return Toolchain(Language.GO, tuple(go_evidence), go)

    # Rust's runtime symbols, looked up in the dynamic string table rather than symbol by symbol.
    dynstr = strtab.raw if strtab is not None else b""
    for marker in (b"\0rust_eh_personality\0", b"\0__rust_"):
        if marker in dynstr:
            return Toolchain(Language.RUST, (f"dynamic symbol {marker.strip(bytes(1)).decode()}",))
    comment = _section_text(r, named.get(".comment"))
    if b"rustc" in comment:
        return Toolchain(Language.RUST, ("section .comment names rustc",))
    for lib in needed:
        if lib.startswith(("libstdc++.so", "libc++.so")):
            return Toolchain(Language.CXX, (f"needs {lib}",))
    if libc not in (Libc.UNKNOWN, Libc.NONE):
        return Toolchain(Language.C, (f"needs {libc.value} and no other language's runtime",))
    if b"GCC:" in comment or b"clang" in comment:
        return Toolchain(Language.C, ("section .comment names a C compiler",))
    return Toolchain(Language.UNKNOWN)


def _section_text(r: _Reader, sec: Section | None) -> bytes:
    if sec is None or sec.type == SHT_NOBITS or not r.fits(sec.offset, sec.size):
        return b""
    return bytes(r.data[sec.offset : sec.offset + min(sec.size, _COMMENT_LIMIT)])


def _scan_go_buildinfo(r: _Reader) -> GoBuildInfo | None:
    """Look for the build info blob at the start of each loaded segment (bounded). Each byte of the
    file is searched once however many segments cover it."""
    data = r.data
    scanned: list[tuple[int, int]] = []  # searched ranges, merged
    for offset, end, seg_end in sorted({(o, min(o + f, o + _GO_SCAN_LIMIT, r.size), min(o + f, r.size))
                                        for _v, f, o in r.loads}):
        start = offset
        if scanned and scanned[-1][1] > start:
            start = max(start, scanned[-1][1] - len(GO_BUILDINFO_MAGIC) + 1)
        if start >= end:
            continue
        at = data.find(GO_BUILDINFO_MAGIC, start, end)
        if at >= 0:
            return _go_buildinfo_at(r, at, seg_end)
        if scanned and scanned[-1][1] >= offset:
            scanned[-1] = (scanned[-1][0], max(scanned[-1][1], end))
        else:
            scanned.append((offset, end))
    return None


def _varint(data: _Data, pos: int, end: int) -> tuple[int, int] | None:
    value = shift = 0
    while pos < end and shift < 64:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7
    return None


def _go_buildinfo_at(r: _Reader, at: int, end: int) -> GoBuildInfo | None:
    """Decode Go build info at file offset ``at`` (magic included). The Go >= 1.18 inline format is
    read; the older format (pointers to Go strings) is followed through the loaded segments."""
    data = r.data
    pos = data.find(GO_BUILDINFO_MAGIC, at, min(end, at + 64))
    if pos < 0 or pos + 32 > end:
        return None
    ptr_size, flags = data[pos + 14], data[pos + 15]
    strings: list[bytes] = []
    if flags & 2:
        p = pos + 32
        for _ in range(2):
            got = _varint(data, p, end)
            if got is None or got[1] + got[0] > end:
                r.warn("Go build info is truncated")
                return None
            n, p = got
            strings.append(bytes(data[p : p + n]))
            p += n
    else:
        big = bool(flags & 1)
        if ptr_size not in (4, 8):
            return None
        fmt = (">" if big else "<") + ("Q" if ptr_size == 8 else "I")
        try:
            for k in range(2):
                (sptr,) = struct.unpack_from(fmt, data, pos + 16 + k * ptr_size)
                soff, savail = r.addr(sptr, "Go build info string")
                if savail < 2 * ptr_size:
                    return None
                data_ptr, length = struct.unpack_from(fmt[0] + fmt[1] * 2, data, soff)
                doff, davail = r.addr(data_ptr, "Go build info string") if length else (0, 0)
                if length > davail:
                    return None
                strings.append(bytes(data[doff : doff + length]))
        except (MalformedElfError, struct.error):
            r.warn("Go build info (pre-1.18 format) could not be followed")
            return None
    version = strings[0].decode("utf-8", "replace")
    modinfo = strings[1]
    if len(modinfo) >= 33 and modinfo[-17:-16] == b"\n":
        modinfo = modinfo[16:-16]
    main_module = None
    settings: list[tuple[str, str]] = []
    for line in modinfo.decode("utf-8", "replace").split("\n"):
        if line.startswith("path\t"):
            main_module = line[5:]
        elif line.startswith("build\t"):
            key, _, value = line[6:].partition("=")
            if value.startswith('"'):
                value = _unquote(value)
            settings.append((key, value))
    if not version:
        return None
    return GoBuildInfo(version, main_module, tuple(settings))


def _unquote(value: str) -> str:
    """Undo Go's strconv.Quote for the common escapes (build settings with spaces are quoted)."""
    if len(value) >= 2 and value.endswith('"'):
        body = value[1:-1]
        out = []
        i = 0
        while i < len(body):
            c = body[i]
            if c == "\\" and i + 1 < len(body):
                nxt = body[i + 1]
                out.append({"n": "\n", "t": "\t", '"': '"', "\\": "\\"}.get(nxt, "\\" + nxt))
                i += 2
                continue
            out.append(c)
            i += 1
        return "".join(out)
    return value
