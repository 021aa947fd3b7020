"""What a verdict reads of an image, kept from a layer streamed past once: ``reduce_layer``.

A pulled layer is decompressed and read as a tar stream, and written back as an uncompressed tar with
every entry (names, kinds, modes, sizes, links, whiteouts: the layer index needs them all) but with the
bytes of only the files a verdict reads; everything else is left as a hole (the output file is sparse,
so it costs no disk). The result is an ordinary uncompressed layer, read by the same layer index as a
``docker save`` archive's, so a pulled image and the same image saved to a file are judged by one code.

What is kept (``kept_ranges``), and why:

* dynamic loaders (``ld-*``), whole: glibc's built-in search directories are read from the loader's bytes;
* every other ELF file, in part: the ELF header, the program headers, the first loadable segment (where
  linkers place the dynamic symbol, string and version tables), the dynamic segment, the interpreter
  and note segments, and the section header table with the section names before it. That is what a
  library's soname, DT_NEEDED, RPATH/RUNPATH, version definitions and exports are read from, and
  what tells a shell's or a library's machine;
* small text the loader or the verdict reads: ``/etc`` (``ld.so.conf*``, ``ld-musl-*.path``,
  ``os-release``), the apk database (musl's version), ``#!`` scripts and JDK ``release`` files.

Decompression uses ``linkcheck.image.inflate``'s decoders (gzip, zstd) and is bounded as the archive
reader's is (its ``Limits``): total output, expansion ratio and member count.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import struct
import tarfile
from collections.abc import Callable
from typing import Any, BinaryIO

from linkcheck.errors import ArchiveError, DigestMismatchError
from linkcheck.image.inflate import (
    CHUNK,
    DEFAULT_LIMITS,
    SNIFF_BYTES,
    Budget,
    Compression,
    Decoder,
    Limits,
    decoder_for,
    parse_digest,
    sniff,
)
from linkcheck.image.tree import normalize

HEAD_BYTES = 64 << 10  # read before deciding what to keep of a file: ELF and program headers are here
_SMALL = 64 << 10  # a file this small is kept whole: trimming it saves nothing worth the risk
_TEXT_LIMIT = 1 << 20  # /etc files and the apk database larger than this are not configuration
_SHSTRTAB_SLACK = 4096  # the section-name table sits just before the section headers (GNU ld, lld)

_ELF_MAGIC = b"\x7fELF"
_PT_LOAD, _PT_DYNAMIC, _PT_INTERP, _PT_NOTE = 1, 2, 3, 4
_PT_GNU_PROPERTY = 0x6474E553

Ranges = tuple[tuple[int, int], ...]


def kept_ranges(path: str, head: bytes, size: int) -> Ranges:
    """The byte ranges [start, end) of the file ``path`` (``size`` bytes, starting with ``head``) that a
    verdict may read; () for none."""
    whole: Ranges = ((0, size),) if size else ()
    base = posixpath.basename(path)
    if head.startswith(_ELF_MAGIC):
        if size <= _SMALL or base.startswith(("ld-", "ld64", "ld.so")):
            return whole
        return _elf_ranges(head, size) or whole
    if head.startswith(b"#!"):
        return whole if size <= _SMALL else ((0, min(size, 4096)),)
    if size <= _TEXT_LIMIT and (path.startswith("/etc/") or path.startswith("/lib/apk/db/")
                                or path == "/usr/lib/os-release"):
        return whole
    if base == "release" and size <= _SMALL:
        return whole
    return ()


def _elf_ranges(head: bytes, size: int) -> Ranges | None:
    """The parts of an ELF file its dynamic facts are read from; None when the headers are not where
    they can be read from ``head`` (the caller keeps the whole file then)."""
    if len(head) < 64 or head[4] not in (1, 2) or head[5] not in (1, 2):
        return None
    is64 = head[4] == 2
    e = "<" if head[5] == 1 else ">"
    if is64:
        phoff, shoff = struct.unpack_from(e + "QQ", head, 32)
        phentsize, phnum, shentsize, shnum = struct.unpack_from(e + "HHHH", head, 54)
        ph = struct.Struct(e + "IIQQQQQQ")  # type, flags, offset, vaddr, paddr, filesz, memsz, align
    else:
        phoff, shoff = struct.unpack_from(e + "II", head, 28)
        phentsize, phnum, shentsize, shnum = struct.unpack_from(e + "HHHH", head, 42)
        ph = struct.Struct(e + "IIIIIIII")  # type, offset, vaddr, paddr, filesz, memsz, flags, align
    if phentsize < ph.size or phoff + phnum * phentsize > len(head):
        return None
    ranges: list[tuple[int, int]] = [(0, phoff + phnum * phentsize)]
    first_load = True
    for i in range(phnum):
        fields = ph.unpack_from(head, phoff + i * phentsize)
        if is64:
            p_type, _flags, offset, _va, _pa, filesz = fields[:6]
        else:
            p_type, offset, _va, _pa, filesz = fields[:5]
        if p_type == _PT_LOAD and first_load:
            first_load = False
            ranges.append((offset, offset + filesz))
        elif p_type in (_PT_DYNAMIC, _PT_INTERP, _PT_NOTE, _PT_GNU_PROPERTY):
            ranges.append((offset, offset + filesz))
    if shoff and shnum:
        ranges.append((max(0, shoff - _SHSTRTAB_SLACK), shoff + shnum * max(shentsize, 1)))
    return _merge(ranges, size)


def _merge(ranges: list[tuple[int, int]], size: int) -> Ranges:
    out: list[tuple[int, int]] = []
    for start, end in sorted((max(0, s), min(size, e)) for s, e in ranges):
        if start >= end:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Streaming decompression
# ---------------------------------------------------------------------------------------------


class Inflater(io.RawIOBase):
    """The decompressed bytes of a layer read from ``source`` (the compression told by its magic, decoded
    by ``linkcheck.image.inflate``'s decoders), while the compressed bytes are hashed for ``digest``.
    Bounded as the archive reader is: ``budget`` is shared by the layers of one image; ``verify()`` at
    the end."""

    def __init__(self, source: Callable[[int], bytes], digest: str, what: str, budget: Budget,
                 on_bytes: Callable[[int], None] | None = None) -> None:
        super().__init__()
        alg, self._want = parse_digest(digest, what)
        self._hash = hashlib.new(alg)
        self._source = source
        self._what = what
        self._budget = budget
        self._on_bytes = on_bytes
        self._pending = b""
        self._sniffed = False
        self._decoder: Decoder | None = None
        self._source_done = False
        self._finished = False
        self.consumed = 0
        self.produced = 0

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        if self._source_done:
            return False
        data = self._source(CHUNK)
        if not data:
            self._source_done = True
            return False
        self._hash.update(data)
        self.consumed += len(data)
        if self._on_bytes is not None:
            self._on_bytes(len(data))
        self._pending += data
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _read(self, n: int) -> bytes:
        n = max(1, min(n, CHUNK))
        if not self._sniffed:
            while len(self._pending) < SNIFF_BYTES and self._fill():
                pass
            kind = sniff(self._pending[:SNIFF_BYTES])
            self._decoder = None if kind is Compression.NONE else decoder_for(kind, self._what)
            self._sniffed = True
        decoder = self._decoder
        while True:
            if decoder is None:
                if not self._pending and not self._fill():
                    return b""
                out, self._pending = self._pending[:n], self._pending[n:]
                return self._count(out)
            try:
                if decoder.pending():
                    out = decoder.decode(b"", n)
                elif self._pending or self._fill():
                    data, self._pending = self._pending, b""
                    out = decoder.decode(data, n)
                elif self._finished:
                    return b""
                else:
                    self._finished = True
                    out = decoder.finish()
            except ArchiveError as exc:
                raise ArchiveError(f"{self._what} {exc.message}") from None
            if out:
                return self._count(out)
            if self._finished:
                return b""

    def _count(self, out: bytes) -> bytes:
        self.produced += len(out)
        self._budget.used += len(out)
        limits = self._budget.limits
        if self._budget.used > limits.max_decompressed_bytes:
            raise ArchiveError(f"{self._what} decompresses to more than {limits.max_decompressed_bytes} "
                               "bytes (limit)")
        if self.produced > limits.ratio_floor and self.produced > limits.max_ratio * max(self.consumed, 1):
            raise ArchiveError(f"{self._what} expands more than {limits.max_ratio}:1 (a decompression bomb?)")
        return out

    def verify(self) -> None:
        """Read what is left of the source, then refuse the layer if its bytes are not its digest's."""
        while self._fill():
            self._pending = b""
        if self._hash.hexdigest() != self._want:
            raise DigestMismatchError(f"{self._what}: the bytes received do not match the digest "
                                      f"{self._hash.name}:{self._want} (refused)")


# ---------------------------------------------------------------------------------------------
# Reduction
# ---------------------------------------------------------------------------------------------


def reduce_layer(layer: BinaryIO, out: BinaryIO, what: str, limits: Limits = DEFAULT_LIMITS) -> int:
    """Write the reduced form of the uncompressed tar stream ``layer`` to ``out`` (seekable; holes where
    nothing is kept). Returns the bytes of content kept. ArchiveError when the tar cannot be read."""
    kept = 0
    pos = 0
    members = 0
    try:
        with tarfile.open(fileobj=layer, mode="r|", encoding="utf-8", errors="surrogateescape") as tf:
            for info in tf:
                members += 1
                if members > limits.max_members:
                    raise ArchiveError(f"{what}: more than {limits.max_members} tar members (limit)")
                copy = tarfile.TarInfo(info.name)
                copy.type = info.type if info.type != tarfile.GNUTYPE_SPARSE else tarfile.REGTYPE
                copy.mode = info.mode
                copy.linkname = info.linkname
                copy.devmajor, copy.devminor = info.devmajor, info.devminor
                copy.size = info.size if info.isreg() else 0
                header = copy.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
                out.seek(pos)
                out.write(header)
                pos += len(header)
                if copy.size:
                    kept += _copy_kept(tf, info, out, pos)
                    pos += -(-copy.size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE
                tf.members.clear()  # type: ignore[attr-defined]  # tarfile keeps every header it reads; the output is our record
    except tarfile.ReadError as exc:
        raise ArchiveError(f"{what} is not a readable tar ({exc})") from exc
    except (EOFError, tarfile.TarError) as exc:
        raise ArchiveError(f"{what} is truncated or corrupt ({exc})") from exc
    out.truncate(pos + 2 * tarfile.BLOCKSIZE)  # the end-of-archive blocks, as a hole
    return kept


def _copy_kept(tf: tarfile.TarFile, info: tarfile.TarInfo, out: BinaryIO, data_at: int) -> int:
    f = tf.extractfile(info)
    if f is None or info.sparse:
        return 0
    head = f.read(min(info.size, HEAD_BYTES))
    ranges = kept_ranges(normalize("/" + info.name), head, info.size)
    kept = 0
    pos = 0
    chunk = head
    while chunk:
        end = pos + len(chunk)
        for start, stop in ranges:
            lo, hi = max(start, pos), min(stop, end)
            if lo < hi:
                out.seek(data_at + lo)
                out.write(chunk[lo - pos : hi - pos])
                kept += hi - lo
        pos = end
        if not ranges or pos >= ranges[-1][1]:
            break  # nothing more to keep: tarfile skips the rest when the next member is asked for
        chunk = f.read(CHUNK)
    return kept
