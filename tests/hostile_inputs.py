"""Generators of hostile ELF inputs whose cost grows with a declared count, a header count or a chain
length (issue 12's classes): each writes a file (sparse where it is large, so nothing big is committed
or even written to disk) and returns its path. Used by tests/test_hostile_elf.py and scripts/fuzz.py."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path

from elfwriter import EM_X86_64, ElfSpec, Export, Import, Layout, write_with_layout

GIB = 1 << 30
PT_LOAD, PT_NOTE = 1, 4
DT_NEEDED, DT_HASH, DT_STRTAB, DT_STRSZ, DT_GNU_HASH = 1, 4, 5, 10, 0x6FFFFEF5

_BASE = ElfSpec(
    elf_class=64, endianness="little", machine=EM_X86_64, interp="/lib64/ld-linux-x86-64.so.2",
    needed=("libc.so.6",), soname="libhostile.so.1", section_headers=False,
    version_needs=(("libc.so.6", ("GLIBC_2.2.5",)),),
    imports=(Import("puts", "GLIBC_2.2.5"),), exports=(Export("api"), Export("other")),
)


def _write(spec: ElfSpec) -> tuple[bytearray, Layout]:
    data, lay = write_with_layout(spec)
    return bytearray(data), lay


def _grow_load(data: bytearray, lay: Layout, size: int) -> None:
    """Make the one PT_LOAD cover ``size`` bytes of file, so addresses anywhere in it resolve."""
    at = lay.phdrs[PT_LOAD]
    struct.pack_into("<QQ", data, at + 32, size, size)  # p_filesz, p_memsz


def _sparse(path: Path, data: bytes, size: int) -> Path:
    with path.open("wb") as f:
        f.write(data)
        f.truncate(size)
    return path


def huge_dt_hash(path: Path, size: int = GIB) -> Path:
    """DT_HASH claiming 2^32 - 1 symbols, in a sparse file of ``size`` bytes that one PT_LOAD covers."""
    data, lay = _write(ElfSpec(**{**_BASE.__dict__, "hash_style": "sysv"}))
    _grow_load(data, lay, size)
    hash_at = lay.sections[".hash"][0]
    struct.pack_into("<I", data, hash_at + 4, 0xFFFFFFFF)  # nchain
    return _sparse(path, bytes(data), size)


def endless_gnu_hash_chain(path: Path, size: int = GIB) -> Path:
    """DT_GNU_HASH whose highest bucket starts a chain that never ends (zero words to the end of a
    sparse ``size``-byte file)."""
    data, lay = _write(ElfSpec(**{**_BASE.__dict__, "hash_style": "gnu"}))
    _grow_load(data, lay, size)
    off = lay.sections[".gnu.hash"][0]
    nbuckets, symoffset, bloom_size, _shift = struct.unpack_from("<4I", data, off)
    buckets_at = off + 16 + 8 * bloom_size
    chains_at = buckets_at + 4 * nbuckets
    # The chain starts past the file's real bytes, in the zeros of the sparse tail.
    start = symoffset + (len(data) - chains_at) // 4 + 16
    struct.pack_into("<I", data, buckets_at, start)
    return _sparse(path, bytes(data), size)


def many_notes(path: Path, count: int = 10_000, span: int = 256 << 10) -> Path:
    """``count`` PT_NOTE headers all over the same ``span`` bytes of notes."""
    data, lay = _write(_BASE)
    notes = b"".join(struct.pack("<III", 4, 4, 1) + b"GNU\0" + b"\0\0\0\0" for _ in range(span // 20))
    notes_at = len(data) + (-len(data) % 8)
    data = data.ljust(notes_at, b"\0") + notes
    table_at = len(data) + (-len(data) % 8)
    old = data[lay.phoff : lay.phoff + lay.phnum * 56]
    note = struct.pack("<IIQQQQQQ", PT_NOTE, 4, notes_at, 0, 0, len(notes), len(notes), 4)
    data = data.ljust(table_at, b"\0") + old + note * count
    struct.pack_into("<Q", data, 32, table_at)
    struct.pack_into("<H", data, 56, lay.phnum + count)  # over 0xFFFF: see below
    if lay.phnum + count >= 0xFFFF:
        raise ValueError("too many headers for e_phnum")
    _grow_load(data, lay, len(data))
    return _sparse(path, bytes(data), len(data))


def many_loads(path: Path, count: int = 65_000) -> Path:
    """``count`` PT_LOAD headers (each mapping the whole file) and no section headers."""
    data, lay = _write(_BASE)
    _grow_load(data, lay, len(data) + (-len(data) % 8) + (lay.phnum + count) * 56)
    load = data[lay.phdrs[PT_LOAD] : lay.phdrs[PT_LOAD] + 56]
    table_at = len(data) + (-len(data) % 8)
    old = data[lay.phoff : lay.phoff + lay.phnum * 56]
    data = data.ljust(table_at, b"\0") + old + bytes(load) * count
    struct.pack_into("<Q", data, 32, table_at)
    struct.pack_into("<H", data, 56, lay.phnum + count)
    return _sparse(path, bytes(data), len(data))


def names_into_unterminated_tail(path: Path, count: int = 100_000) -> Path:
    """``count`` exported symbols whose names all point into a 64 KiB string-table tail with no NUL:
    every look-up fails, and must fail once."""
    exports = tuple(Export(f"s{i}") for i in range(count))
    data, lay = _write(ElfSpec(**{**_BASE.__dict__, "exports": exports, "hash_style": "sysv",
                                  "section_headers": True}))
    tail_at = len(data)
    data += b"x" * (64 << 10)
    _grow_load(data, lay, len(data))
    strtab_at = next(off for off, tag, _ in lay.dynamic_entries if tag == DT_STRTAB)
    strsz_at = next(off for off, tag, _ in lay.dynamic_entries if tag == DT_STRSZ)
    dynstr_off = lay.sections[".dynstr"][0]
    struct.pack_into("<Q", data, strsz_at + 8, len(data) - dynstr_off)
    del strtab_at  # the table stays where it is; only its size grows over the tail
    symtab_off, symtab_size = lay.sections[".dynsym"]
    for i in range(2, symtab_size // 24):  # index 0 is null, 1 the import
        struct.pack_into("<I", data, symtab_off + 24 * i, tail_at - dynstr_off + (i % 1000))
    return _sparse(path, bytes(data), len(data))


def many_needed(path: Path, count: int = 100_000) -> Path:
    """A program needing ``count`` distinct libraries."""
    needed = tuple(f"libn{i}.so" for i in range(count))
    data, _lay = _write(ElfSpec(**{**_BASE.__dict__, "needed": needed, "version_needs": (), "imports": (),
                                   "soname": None, "pie": True}))
    return _sparse(path, bytes(data), len(data))


def many_missing_versions(path: Path, versions: int = 5_000, imports: int = 100_000) -> Path:
    """A program needing ``versions`` versions of libc no libc has, with ``imports`` imports spread
    over them."""
    names = tuple(f"GLIBC_9.{i}" for i in range(versions))
    data, _lay = _write(ElfSpec(**{
        **_BASE.__dict__, "soname": None, "pie": True, "exports": (),
        "version_needs": (("libc.so.6", ("GLIBC_2.2.5", *names)),),
        "imports": tuple(Import(f"f{i}", names[i % versions]) for i in range(imports)),
    }))
    return _sparse(path, bytes(data), len(data))


GENERATORS: dict[str, Callable[[Path], Path]] = {
    "huge DT_HASH nchain over 1 GiB": huge_dt_hash,
    "endless GNU_HASH chain over 1 GiB": endless_gnu_hash_chain,
    "10,000 PT_NOTE over 256 KiB": many_notes,
    "65,000 PT_LOAD, no sections": many_loads,
    "100,000 names into a tail without NUL": names_into_unterminated_tail,
    "100,000 DT_NEEDED": many_needed,
    "5,000 missing versions x 100,000 imports": many_missing_versions,
}


GENERATORS["huge DT_HASH nchain over 8 GiB"] = lambda path: huge_dt_hash(path, 8 * GIB)


# Issue 12's hostile inputs that are images or roots rather than one ELF file: each builds its input in
# ``where`` and returns the arguments of the `linkcheck` command that reads it (scripts/fuzz.py --bounds
# runs it in a fresh process and measures its CPU time and peak RSS, workers included).

def _image(where: Path, layers: list[list[tuple[str, str, bytes | str | None]]], env: list[str]) -> Path:
    from test_archive import layer_tar, outer_tar

    config = {"architecture": "amd64", "os": "linux", "config": {"Env": env},
              "rootfs": {"type": "layers", "diff_ids": []}}
    files = {"cfg.json": json.dumps(config).encode()}
    for i, members in enumerate(layers):
        files[f"l{i}/layer.tar"] = layer_tar(members)
    names = [f"l{i}/layer.tar" for i in range(len(layers))]
    manifest = [{"Config": "cfg.json", "RepoTags": ["t:1"], "Layers": names}]
    files["manifest.json"] = json.dumps(manifest).encode()
    return outer_tar(where / "image.tar", files)


def deep_member_path(where: Path) -> list[str]:
    """One tar member whose path has 50,000 components."""
    return [str(_image(where, [[("f", "/".join(["a"] * 50_000) + "/x", b"x")]], ["PATH=/bin"]))]


def huge_path_env(where: Path) -> list[str]:
    """An image PATH of 1.3M entries and 300 `#!/usr/bin/env` scripts."""
    scripts: list[tuple[str, str, bytes | str | None]] = [
        ("f", f"app/s{i}", f"#!/usr/bin/env tool{i}\n".encode()) for i in range(300)]
    env = ["PATH=" + ":".join(["/b", "/a"] * 650_000)]  # 3.9 MB: under the 4 MB a config may take
    return [str(_image(where, [[("f", "usr/bin/env", b"#!/bin/sh\n"), *scripts]], env))]


def include_globs(where: Path) -> list[str]:
    """A glibc root whose ld.so.conf repeats `include` of a glob over a directory of 100,000 files on
    100 lines; the program checked against it."""
    import shutil

    root = where / "root"
    lib = root / "lib/x86_64-linux-gnu"
    lib.mkdir(parents=True)
    (root / "lib64").mkdir()
    shutil.copy("/lib/x86_64-linux-gnu/libc.so.6", lib / "libc.so.6")
    shutil.copy("/lib64/ld-linux-x86-64.so.2", root / "lib64/ld-linux-x86-64.so.2")
    conf_d = root / "etc/ld.so.conf.d"
    conf_d.mkdir(parents=True)
    for i in range(100_000):
        (conf_d / f"f{i}.conf").touch()
    (root / "etc/ld.so.conf").write_text("include /etc/ld.so.conf.d/*.conf\n" * 100)
    program = Path(__file__).resolve().parent.parent / "fixtures/bin/c-glibc-dynamic"
    return [str(program), "--target", str(root)]


def gib_member(where: Path) -> list[str]:
    """An image whose one program is a 1 GiB member (a real ELF header, then a hole), scanned by two
    workers."""
    from test_archive import sparse_image

    head = (Path(__file__).resolve().parent.parent / "fixtures/bin/c-glibc-static").read_bytes()[:4096]
    return [str(sparse_image(where / "image.tar", "app/big", head, GIB)), "--jobs", "2"]


SCENARIOS: dict[str, Callable[[Path], list[str]]] = {
    "tar member path of 50,000 components": deep_member_path,
    "PATH of 1.3M entries, 300 env scripts": huge_path_env,
    "ld.so.conf include glob x100 over 100k files": include_globs,
    "1 GiB image member, --jobs 2": gib_member,
}
