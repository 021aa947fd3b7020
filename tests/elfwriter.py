"""A test-only ELF writer: builds small, *valid* ELF files from a spec, so tests can say exactly which
facts a file carries (and corrupt one named field at a time).

The layout is one read-write-execute PT_LOAD mapping the whole file at ``base + offset``, so every
dynamic-table address is also a file offset plus ``base``. What is written, in file order::

    ELF header | program headers | .interp | .dynsym | .dynstr | .hash | .gnu.hash | .gnu.version
    | .gnu.version_r | .gnu.version_d | .text | .dynamic | .shstrtab | section headers

Sections a spec does not need are left out. ``layout`` records where each piece went, so hostile tests
can patch a named field (``DT_STRTAB``'s value, the first Vernaux's ``vna_next`` ...).

Nothing here is copied from another ELF writer; the formats follow the System V gABI and the LSB's
symbol-versioning chapter.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

# e_ident / header
ELFCLASS32, ELFCLASS64 = 1, 2
ELFDATA2LSB, ELFDATA2MSB = 1, 2
ET_EXEC, ET_DYN = 2, 3
EM_386, EM_ARM, EM_X86_64, EM_AARCH64, EM_S390, EM_MIPS, EM_PPC64, EM_RISCV = 3, 40, 62, 183, 22, 8, 21, 243
EM_ALPHA = 0x9026

# program header types
PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_PHDR = 1, 2, 3, 6
PF_X, PF_W, PF_R = 1, 2, 4

# section header types
SHT_PROGBITS, SHT_STRTAB, SHT_HASH, SHT_DYNAMIC, SHT_DYNSYM = 1, 3, 5, 6, 11
SHT_GNU_VERDEF, SHT_GNU_VERNEED, SHT_GNU_VERSYM = 0x6FFFFFFD, 0x6FFFFFFE, 0x6FFFFFFF
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 1, 2, 4

# dynamic tags
DT_NULL, DT_NEEDED, DT_HASH, DT_STRTAB, DT_SYMTAB, DT_STRSZ, DT_SYMENT = 0, 1, 4, 5, 6, 10, 11
DT_SONAME, DT_RPATH, DT_RUNPATH = 14, 15, 29
DT_FLAGS_1 = 0x6FFFFFFB
DT_GNU_HASH = 0x6FFFFEF5
SHT_GNU_HASH = 0x6FFFFFF6
DT_VERSYM, DT_VERDEF, DT_VERDEFNUM, DT_VERNEED, DT_VERNEEDNUM = (
    0x6FFFFFF0,
    0x6FFFFFFC,
    0x6FFFFFFD,
    0x6FFFFFFE,
    0x6FFFFFFF,
)
DF_1_NODEFLIB, DF_1_PIE = 0x800, 0x08000000

# symbols
STB_GLOBAL, STB_WEAK = 1, 2
STT_FUNC = 2
VER_NDX_GLOBAL = 1
VER_FLG_BASE = 1
VERSYM_HIDDEN = 0x8000

PAGE = 0x1000


def gnu_hash(name: bytes) -> int:
    """The GNU symbol hash (DT_GNU_HASH): h = h * 33 + c from 5381, modulo 2**32."""
    h = 5381
    for c in name:
        h = (h * 33 + c) & 0xFFFFFFFF
    return h


def elf_hash(name: bytes) -> int:
    """The System V ABI symbol hash (used by DT_HASH, vna_hash and vd_hash)."""
    h = 0
    for c in name:
        h = ((h << 4) + c) & 0xFFFFFFFF
        g = h & 0xF0000000
        if g:
            h ^= g >> 24
        h &= ~g & 0xFFFFFFFF
    return h


@dataclass(frozen=True)
class Import:
    name: str
    version: str | None = None  # must be one of the spec's version_needs versions (or None)
    weak: bool = False


@dataclass(frozen=True)
class Export:
    name: str
    version: str | None = None  # one of the spec's version_definitions (or None)
    hidden: bool = False  # a non-default version: "name@VER"


@dataclass(frozen=True)
class ElfSpec:
    elf_class: int = 64  # 32 or 64
    endianness: str = "little"  # "little" or "big"
    machine: int = EM_X86_64
    elf_type: int = ET_DYN
    osabi: int = 0
    interp: str | None = None
    needed: tuple[str, ...] = ()
    soname: str | None = None
    rpath: str | None = None  # as written in DT_RPATH ("a:b")
    runpath: str | None = None
    version_needs: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (library, (version, ...))
    version_definitions: tuple[str, ...] = ()  # non-base Verdef names; the base is soname or "a.out"
    imports: tuple[Import, ...] = ()
    exports: tuple[Export, ...] = ()
    section_headers: bool = True
    nodeflib: bool = False
    pie: bool = False  # DF_1_PIE in DT_FLAGS_1
    dynamic: bool = True  # False: no PT_DYNAMIC at all (a static executable)
    hash_style: str = "both"  # "sysv" (DT_HASH), "gnu" (DT_GNU_HASH) or "both", as ld --hash-style
    text: bytes = b""  # machine code for .text (the entry point is its first byte); default: 16 x 0xc3

    @property
    def hash_entry_size(self) -> int:
        # s390x and Alpha use 8-byte .hash entries in 64-bit files; everyone else 4.
        return 8 if self.elf_class == 64 and self.machine in (EM_S390, EM_ALPHA) else 4


@dataclass
class Layout:
    """Where the writer put things (file offsets), for tests that patch one field."""

    phoff: int = 0
    phnum: int = 0
    phentsize: int = 0
    shoff: int = 0
    shnum: int = 0
    shentsize: int = 0
    base: int = 0
    sections: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (offset, size)
    phdrs: dict[int, int] = field(default_factory=dict)  # p_type -> offset of that program header
    dynamic_entries: list[tuple[int, int, int]] = field(default_factory=list)  # (offset of entry, tag, val)
    verneed_offsets: list[int] = field(default_factory=list)  # each Verneed record
    vernaux_offsets: list[int] = field(default_factory=list)  # each Vernaux record
    verdef_offsets: list[int] = field(default_factory=list)
    verdaux_offsets: list[int] = field(default_factory=list)
    dynsym_count: int = 0

    def dyn_entry(self, tag: int) -> int:
        """File offset of the first dynamic entry with ``tag``."""
        for off, t, _ in self.dynamic_entries:
            if t == tag:
                return off
        raise KeyError(tag)


class _Strtab:
    def __init__(self) -> None:
        self.data = bytearray(b"\0")
        self.index: dict[bytes, int] = {b"": 0}

    def add(self, s: str | bytes) -> int:
        b = s.encode("utf-8", "surrogateescape") if isinstance(s, str) else s
        if b not in self.index:
            self.index[b] = len(self.data)
            self.data += b + b"\0"
        return self.index[b]


def _align(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def validate(spec: ElfSpec) -> None:
    """Refuse specs that would not make a valid file (tests should not build invalid ones by accident)."""
    if spec.hash_style not in ("sysv", "gnu", "both"):
        raise ValueError("hash_style is sysv, gnu or both")
    if spec.elf_class not in (32, 64) or spec.endianness not in ("little", "big"):
        raise ValueError("class must be 32/64 and endianness little/big")
    versions = {v for _, vs in spec.version_needs for v in vs}
    for imp in spec.imports:
        if imp.version is not None and imp.version not in versions:
            raise ValueError(f"import {imp.name} needs {imp.version}, which no version need lists")
    for exp in spec.exports:
        if exp.version is not None and exp.version not in spec.version_definitions:
            raise ValueError(f"export {exp.name} has {exp.version}, which no version definition lists")
    libs = [lib for lib, _ in spec.version_needs]
    if len(set(libs)) != len(libs):
        raise ValueError("one Verneed entry per library")
    for _, vs in spec.version_needs:
        if not vs or len(set(vs)) != len(vs):
            raise ValueError("each version need lists at least one version, once")
    if len(set(spec.version_definitions)) != len(spec.version_definitions):
        raise ValueError("version definitions are unique")
    if set(spec.version_definitions) & versions:
        raise ValueError("a version cannot be both defined and needed here")
    if not spec.dynamic and (
        spec.needed or spec.version_needs or spec.imports or spec.exports or spec.soname
    ):
        raise ValueError("a file without PT_DYNAMIC has no dynamic facts")


def write(spec: ElfSpec) -> bytes:
    return write_with_layout(spec)[0]


def write_with_layout(spec: ElfSpec) -> tuple[bytes, Layout]:
    validate(spec)
    e = "<" if spec.endianness == "little" else ">"
    is64 = spec.elf_class == 64
    addr = "Q" if is64 else "I"
    lay = Layout()
    lay.base = 0x400000 if spec.elf_type == ET_EXEC else 0
    ehsize = 64 if is64 else 52
    phentsize = 56 if is64 else 32
    shentsize = 64 if is64 else 40
    ptr = 8 if is64 else 4

    dynstr = _Strtab()
    # Version indices: Verdefs take 1 (base), 2, ...; Verneed aux entries follow.
    has_verdef = bool(spec.version_definitions)
    def_index: dict[str, int] = {}
    next_index = 2
    if has_verdef:
        for name in spec.version_definitions:
            def_index[name] = next_index
            next_index += 1
    need_index: dict[str, int] = {}
    for _, versions in spec.version_needs:
        for v in versions:
            need_index[v] = next_index
            next_index += 1
    versioned = bool(spec.version_needs or has_verdef)

    # Symbols: null, then imports (undefined), then exports (defined in .text).
    symbols: list[tuple[str, int, bool, int]] = []  # (name, versym, defined, bind)
    for imp in spec.imports:
        vs = need_index[imp.version] if imp.version else VER_NDX_GLOBAL
        symbols.append((imp.name, vs, False, STB_WEAK if imp.weak else STB_GLOBAL))
    for exp in spec.exports:
        vs = def_index[exp.version] if exp.version else VER_NDX_GLOBAL
        if exp.hidden:
            vs |= VERSYM_HIDDEN
        symbols.append((exp.name, vs, True, STB_GLOBAL))
    lay.dynsym_count = len(symbols) + 1

    # Strings, in a fixed order so offsets are stable.
    needed_off = [dynstr.add(n) for n in spec.needed]
    soname_off = dynstr.add(spec.soname) if spec.soname is not None else None
    rpath_off = dynstr.add(spec.rpath) if spec.rpath is not None else None
    runpath_off = dynstr.add(spec.runpath) if spec.runpath is not None else None
    sym_name_off = [dynstr.add(s[0]) for s in symbols]
    vn_file_off = [dynstr.add(lib) for lib, _ in spec.version_needs]
    vn_aux_off = [[dynstr.add(v) for v in vs] for _, vs in spec.version_needs]
    base_def_name = spec.soname if spec.soname is not None else "a.out"
    vd_off = [dynstr.add(n) for n in (base_def_name, *spec.version_definitions)] if has_verdef else []

    # Section indices are fixed whatever is present, so st_shndx does not depend on section headers.
    out = bytearray()
    sections: list[
        tuple[str, int, int, int, int, int, int, int]
    ] = []  # name,type,flags,off,size,link,info,entsize

    def place(data: bytes, align: int) -> int:
        while len(out) % align:
            out.append(0)
        off = len(out)
        out.extend(data)
        return off

    # Reserve the headers; program headers are filled at the end.
    phdr_types: list[int] = [PT_PHDR]
    if spec.interp is not None:
        phdr_types.append(PT_INTERP)
    phdr_types.append(PT_LOAD)
    if spec.dynamic:
        phdr_types.append(PT_DYNAMIC)
    out.extend(b"\0" * ehsize)
    lay.phoff = len(out)
    lay.phnum = len(phdr_types)
    lay.phentsize = phentsize
    out.extend(b"\0" * (phentsize * len(phdr_types)))

    if spec.interp is not None:
        data = spec.interp.encode("utf-8", "surrogateescape") + b"\0"
        off = place(data, 1)
        sections.append((".interp", SHT_PROGBITS, SHF_ALLOC, off, len(data), 0, 0, 0))

    text_data = spec.text or b"\xc3" * 16  # something for exports (and e_entry) to point at
    # .text goes after the tables; compute its address later. Symbol values are patched below.
    dynsym_entsize = 24 if is64 else 16

    if spec.dynamic:
        # .dynsym placeholder (values need .text's address)
        dynsym_off = place(b"\0" * (dynsym_entsize * lay.dynsym_count), ptr)
        dynstr_off = place(bytes(dynstr.data), 1)
        # .hash: one bucket chain per symbol (nbucket chosen small but > 0).
        nsyms = lay.dynsym_count
        nbucket = max(1, min(nsyms, 7))
        buckets = [0] * nbucket
        chains = [0] * nsyms
        for i in range(1, nsyms):
            h = elf_hash(symbols[i - 1][0].encode("utf-8", "surrogateescape")) % nbucket
            chains[i] = buckets[h]
            buckets[h] = i
        hw = "Q" if spec.hash_entry_size == 8 else "I"
        hash_data = struct.pack(f"{e}{2 + nbucket + nsyms}{hw}", nbucket, nsyms, *buckets, *chains)
        hash_off = place(hash_data, spec.hash_entry_size) if spec.hash_style != "gnu" else None
        gnu_hash_off = None
        if spec.hash_style != "sysv":
            # One bucket holding every defined symbol (imports come first and are not hashed); a bloom
            # filter of all ones lets every lookup through, which is valid (it only admits false positives).
            symoffset = 1 + len(spec.imports)
            hashed = [gnu_hash(s[0].encode("utf-8", "surrogateescape")) for s in symbols[len(spec.imports) :]]
            chain = [(h & ~1) | (1 if i == len(hashed) - 1 else 0) for i, h in enumerate(hashed)]
            bloom = struct.pack(f"{e}{addr}", (1 << (64 if is64 else 32)) - 1)
            gnu_data = (
                struct.pack(f"{e}IIII", 1, symoffset, 1, 6)
                + bloom
                + struct.pack(f"{e}I", symoffset if hashed else 0)
                + struct.pack(f"{e}{len(chain)}I", *chain)
            )
            gnu_hash_off = place(gnu_data, ptr)
        versym_off = verneed_off = verdef_off = None
        verneed_size = 0
        if versioned:
            versym_data = struct.pack(f"{e}{nsyms}H", 0, *[s[1] for s in symbols])
            versym_off = place(versym_data, 2)
        if spec.version_needs:
            vn = bytearray()
            base_off = _align(len(out), 4)
            for i, (_, vers) in enumerate(spec.version_needs):
                rec_off = base_off + len(vn)
                last = i == len(spec.version_needs) - 1
                size = 16 + 16 * len(vers)
                lay.verneed_offsets.append(rec_off)
                vn += struct.pack(f"{e}HHIII", 1, len(vers), vn_file_off[i], 16, 0 if last else size)
                for j, v in enumerate(vers):
                    lay.vernaux_offsets.append(base_off + len(vn))
                    vlast = j == len(vers) - 1
                    vn += struct.pack(
                        f"{e}IHHII",
                        elf_hash(v.encode("utf-8", "surrogateescape")),
                        0,
                        need_index[v],
                        vn_aux_off[i][j],
                        0 if vlast else 16,
                    )
            verneed_off = place(bytes(vn), 4)
            verneed_size = len(vn)
            assert verneed_off == base_off
        if has_verdef:
            vd = bytearray()
            base_off = _align(len(out), 4)
            names = (base_def_name, *spec.version_definitions)
            for i, name in enumerate(names):
                lay.verdef_offsets.append(base_off + len(vd))
                last = i == len(names) - 1
                vd += struct.pack(
                    f"{e}HHHHIII",
                    1,
                    VER_FLG_BASE if i == 0 else 0,
                    1 if i == 0 else def_index[name],
                    1,
                    elf_hash(name.encode("utf-8", "surrogateescape")),
                    20,
                    0 if last else 28,
                )
                lay.verdaux_offsets.append(base_off + len(vd))
                vd += struct.pack(f"{e}II", vd_off[i], 0)
            verdef_off = place(bytes(vd), 4)
            assert verdef_off == base_off
        text_off = place(text_data, 16)

        # Now the symbols.
        text_index = 0  # filled from the section list order below
        # Section order (indices): 0 null, then as appended.
        # Dynamic table.
        dyn: list[tuple[int, int]] = [(DT_NEEDED, o) for o in needed_off]
        if soname_off is not None:
            dyn.append((DT_SONAME, soname_off))
        if rpath_off is not None:
            dyn.append((DT_RPATH, rpath_off))
        if runpath_off is not None:
            dyn.append((DT_RUNPATH, runpath_off))
        b = lay.base
        if hash_off is not None:
            dyn.append((DT_HASH, b + hash_off))
        if gnu_hash_off is not None:
            dyn.append((DT_GNU_HASH, b + gnu_hash_off))
        dyn += [
            (DT_STRTAB, b + dynstr_off),
            (DT_SYMTAB, b + dynsym_off),
            (DT_STRSZ, len(dynstr.data)),
            (DT_SYMENT, dynsym_entsize),
        ]
        if versym_off is not None:
            dyn.append((DT_VERSYM, b + versym_off))
        if verneed_off is not None:
            dyn += [(DT_VERNEED, b + verneed_off), (DT_VERNEEDNUM, len(spec.version_needs))]
        if verdef_off is not None:
            dyn += [(DT_VERDEF, b + verdef_off), (DT_VERDEFNUM, 1 + len(spec.version_definitions))]
        flags_1 = (DF_1_NODEFLIB if spec.nodeflib else 0) | (DF_1_PIE if spec.pie else 0)
        if flags_1:
            dyn.append((DT_FLAGS_1, flags_1))
        dyn.append((DT_NULL, 0))
        dynent = 16 if is64 else 8
        dyn_fmt = f"{e}q{addr}" if is64 else f"{e}i{addr}"
        dynamic_off = place(b"".join(struct.pack(dyn_fmt, t, v) for t, v in dyn), ptr)
        lay.dynamic_entries = [(dynamic_off + i * dynent, t, v) for i, (t, v) in enumerate(dyn)]

        sections.append(
            (".dynsym", SHT_DYNSYM, SHF_ALLOC, dynsym_off, dynsym_entsize * nsyms, -1, 1, dynsym_entsize)
        )
        sections.append((".dynstr", SHT_STRTAB, SHF_ALLOC, dynstr_off, len(dynstr.data), 0, 0, 0))
        if hash_off is not None:
            sections.append(
                (".hash", SHT_HASH, SHF_ALLOC, hash_off, len(hash_data), -2, 0, spec.hash_entry_size)
            )
        if gnu_hash_off is not None:
            sections.append((".gnu.hash", SHT_GNU_HASH, SHF_ALLOC, gnu_hash_off, len(gnu_data), -2, 0, 0))
        if versym_off is not None:
            sections.append((".gnu.version", SHT_GNU_VERSYM, SHF_ALLOC, versym_off, 2 * nsyms, -2, 0, 2))
        if verneed_off is not None:
            sections.append(
                (
                    ".gnu.version_r",
                    SHT_GNU_VERNEED,
                    SHF_ALLOC,
                    verneed_off,
                    verneed_size,
                    -1,
                    len(spec.version_needs),
                    0,
                )
            )
        if verdef_off is not None:
            sections.append(
                (
                    ".gnu.version_d",
                    SHT_GNU_VERDEF,
                    SHF_ALLOC,
                    verdef_off,
                    28 * (1 + len(spec.version_definitions)),
                    -1,
                    1 + len(spec.version_definitions),
                    0,
                )
            )
        sections.append((".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, text_off, len(text_data), 0, 0, 0))
        text_index = len(sections)  # index counting the null section at 0
        sections.append(
            (".dynamic", SHT_DYNAMIC, SHF_ALLOC | SHF_WRITE, dynamic_off, dynent * len(dyn), -1, 0, dynent)
        )

        # Fill .dynsym.
        for i, (_name, _vs, defined, bind) in enumerate(symbols, start=1):
            info = (bind << 4) | STT_FUNC
            shndx = text_index if defined else 0
            value = b + text_off if defined else 0
            size = 1 if defined else 0
            if is64:
                rec = struct.pack(f"{e}IBBHQQ", sym_name_off[i - 1], info, 0, shndx, value, size)
            else:
                rec = struct.pack(f"{e}IIIBBH", sym_name_off[i - 1], value, size, info, 0, shndx)
            pos = dynsym_off + i * dynsym_entsize
            out[pos : pos + dynsym_entsize] = rec
        dynamic_range = (dynamic_off, dynent * len(dyn))
    else:
        text_off = place(text_data, 16)
        sections.append((".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, text_off, len(text_data), 0, 0, 0))
        dynamic_range = (0, 0)

    for name, _t, _f, off, size, *_ in sections:
        lay.sections[name] = (off, size)

    # Section headers (with .shstrtab), optional.
    shstrndx = 0
    if spec.section_headers:
        shstr = _Strtab()
        name_offs = [shstr.add(s[0]) for s in sections]
        shstr_name = shstr.add(".shstrtab")
        shstrtab_off = place(bytes(shstr.data), 1)
        lay.sections[".shstrtab"] = (shstrtab_off, len(shstr.data))
        index_of = {s[0]: i + 1 for i, s in enumerate(sections)}
        shoff = _align(len(out), ptr)
        while len(out) < shoff:
            out.append(0)
        lay.shoff = shoff
        shdrs = [b"\0" * shentsize]
        for i, (_name, typ, flags, off, size, link, info, entsize) in enumerate(sections):
            # link: -1 = .dynstr, -2 = .dynsym
            link_idx = index_of[".dynstr"] if link == -1 else index_of[".dynsym"] if link == -2 else link
            shdrs.append(
                _shdr(
                    e,
                    is64,
                    name_offs[i],
                    typ,
                    flags,
                    lay.base + off if flags & SHF_ALLOC else 0,
                    off,
                    size,
                    link_idx,
                    info,
                    1 if typ in (SHT_PROGBITS, SHT_STRTAB) else ptr,
                    entsize,
                )
            )
        shdrs.append(_shdr(e, is64, shstr_name, SHT_STRTAB, 0, 0, shstrtab_off, len(shstr.data), 0, 0, 1, 0))
        shstrndx = len(shdrs) - 1
        out.extend(b"".join(shdrs))
        lay.shnum = len(shdrs)
        lay.shentsize = shentsize

    # Program headers.
    total = len(out)
    phdrs = []
    for i, pt in enumerate(phdr_types):
        lay.phdrs[pt] = lay.phoff + i * phentsize
        if pt == PT_PHDR:
            ph = (pt, lay.phoff, lay.phnum * phentsize, PF_R, ptr)
        elif pt == PT_INTERP:
            off, size = lay.sections[".interp"]
            ph = (pt, off, size, PF_R, 1)
        elif pt == PT_LOAD:
            ph = (pt, 0, total, PF_R | PF_W | PF_X, PAGE)
        else:
            ph = (pt, dynamic_range[0], dynamic_range[1], PF_R | PF_W, ptr)
        typ, off, size, flags, align = ph
        vaddr = lay.base + off
        if is64:
            phdrs.append(struct.pack(f"{e}IIQQQQQQ", typ, flags, off, vaddr, vaddr, size, size, align))
        else:
            phdrs.append(struct.pack(f"{e}IIIIIIII", typ, off, vaddr, vaddr, size, size, flags, align))
    out[lay.phoff : lay.phoff + len(phdr_types) * phentsize] = b"".join(phdrs)

    # ELF header.
    ident = (
        b"\x7fELF"
        + bytes(
            [ELFCLASS64 if is64 else ELFCLASS32, ELFDATA2LSB if e == "<" else ELFDATA2MSB, 1, spec.osabi, 0]
        )
        + b"\0" * 7
    )
    entry = lay.base + lay.sections[".text"][0]
    hdr = ident + struct.pack(
        f"{e}HHI{addr}{addr}{addr}IHHHHHH",
        spec.elf_type,
        spec.machine,
        1,
        entry,
        lay.phoff,
        lay.shoff,
        0,
        ehsize,
        phentsize,
        lay.phnum,
        shentsize if spec.section_headers else 0,
        lay.shnum,
        shstrndx,
    )
    out[0:ehsize] = hdr
    return bytes(out), lay


def _shdr(
    e: str,
    is64: bool,
    name: int,
    typ: int,
    flags: int,
    addr: int,
    off: int,
    size: int,
    link: int,
    info: int,
    align: int,
    entsize: int,
) -> bytes:
    if is64:
        return struct.pack(f"{e}IIQQQQIIQQ", name, typ, flags, addr, off, size, link, info, align, entsize)
    return struct.pack(f"{e}IIIIIIIIII", name, typ, flags, addr, off, size, link, info, align, entsize)
