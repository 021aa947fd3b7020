"""Bounded decompression of image layers and archives.

``inflate(src, out, ...)`` streams one compressed blob into ``out`` in chunks (memory stays at a few
chunks whatever the sizes), hashing the compressed bytes on the way when a digest is expected, and stops
with an ArchiveError when the output passes ``Limits`` (the image's total, or an expansion ratio past a
floor: a decompression bomb). Formats are recognised by their magic bytes (``sniff``); each has a
``Decoder``. gzip (every member of a multi-member stream, zero padding after the last) is built in, zstd
(every frame) through the standard library's decoder from Python 3.14, else ``backports.zstd``; a format
without a decoder here (xz, bzip2) is refused with a one-line error naming it, and a new format is one
``Decoder`` class and one entry in ``_DECODERS``.
"""

from __future__ import annotations

import enum
import hashlib
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from linkcheck.errors import ArchiveError

CHUNK = 1 << 20

_DIGEST = re.compile(r"^(sha256|sha512):([0-9a-f]{64}|[0-9a-f]{128})$")


class Compression(enum.Enum):
    NONE = "uncompressed"
    GZIP = "gzip"
    ZSTD = "zstd"
    XZ = "xz"
    BZIP2 = "bzip2"


_MAGICS = (
    (b"\x1f\x8b", Compression.GZIP),
    (b"\x28\xb5\x2f\xfd", Compression.ZSTD),
    (b"\xfd7zXZ\x00", Compression.XZ),
    (b"BZh", Compression.BZIP2),
)
SNIFF_BYTES = 6


def sniff(head: bytes) -> Compression:
    """The compression ``head`` (the first SNIFF_BYTES bytes of a blob) starts with."""
    for magic, kind in _MAGICS:
        if head.startswith(magic):
            return kind
    return Compression.NONE


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps on what reading one image may cost. The defaults suit real images; tests lower them."""

    max_decompressed_bytes: int = 16 << 30  # in total, over every compressed layer of the image
    max_ratio: int = 200  # decompressed / compressed, checked once past ``ratio_floor`` bytes
    ratio_floor: int = 64 << 20
    max_members: int = 2_000_000  # tar members over all layers


DEFAULT_LIMITS = Limits()


class Budget:
    """What is left of an image's decompression allowance, shared by its layers."""

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.used = 0


class Readable(Protocol):
    """What a blob is read from: a file, a window of one, a download."""

    def read(self, size: int = -1, /) -> bytes: ...


class Decoder(Protocol):
    """One compressed stream, fed in chunks."""

    def decode(self, data: bytes, max_length: int) -> bytes:
        """Up to ``max_length`` decompressed bytes from ``data`` plus what is pending; what is not
        consumed yet stays pending (``pending()`` says whether there is any)."""
        ...

    def pending(self) -> bool: ...

    def finish(self) -> bytes:
        """At the end of the input: what is left; raises ArchiveError("is truncated ...") when the
        stream ended early (the message follows what the blob is)."""
        ...


class _Gzip:
    """Every member of a (possibly multi-member) gzip stream; zero bytes between or after members are
    padding (tar tools write it)."""

    def __init__(self) -> None:
        self._d = zlib.decompressobj(wbits=31)
        self._tail = b""
        self._started = False

    def decode(self, data: bytes, max_length: int) -> bytes:
        pending = self._tail + data if self._tail else data
        self._tail = b""
        out = b""
        while pending and len(out) < max_length:
            if not self._started:
                stripped = pending.lstrip(b"\x00")
                if not stripped:
                    return out
                pending = stripped
                self._started = True
            out += self._d.decompress(pending, max_length - len(out))
            pending = self._d.unconsumed_tail
            if self._d.eof:
                pending = self._d.unused_data + pending
                self._d = zlib.decompressobj(wbits=31)
                self._started = False
        self._tail = pending
        return out

    def pending(self) -> bool:
        return bool(self._tail)

    def finish(self) -> bytes:
        if not self._started:
            return b""
        data = self._d.flush()
        if not self._d.eof:
            raise ArchiveError("is truncated (its gzip stream ends early)")
        return data


def zstd_module() -> Any:
    """The zstd decoder: the standard library's from Python 3.14, else its backport (a declared
    dependency for older Pythons, see pyproject.toml); None when neither is installed."""
    try:
        from compression import zstd  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        try:
            from backports import zstd  # type: ignore[import-not-found,no-redef,unused-ignore]
        except ImportError:
            return None
    return zstd


class _Zstd:
    """Every frame of a zstd stream (registries compress layers with zstd; skopeo and buildkit write
    them); bytes after the last frame must be further frames."""

    def __init__(self) -> None:
        self._zstd = zstd_module()
        if self._zstd is None:
            raise ArchiveError("is zstd-compressed: not supported (no zstd decoder installed: "
                               "pip install backports.zstd)")
        self._d = self._zstd.ZstdDecompressor()
        self._tail = b""
        self._started = False

    def decode(self, data: bytes, max_length: int) -> bytes:
        pending = self._tail + data if self._tail else data
        self._tail = b""
        out = b""
        while len(out) < max_length:
            if self._d.needs_input:
                if not pending:
                    break
                chunk, pending = pending, b""
                self._started = True
            else:
                chunk = b""  # output held inside the decoder from the last call
            try:
                out += self._d.decompress(chunk, max_length - len(out))
            except self._zstd.ZstdError as exc:
                raise ArchiveError(f"is not valid zstd data ({exc})") from None
            if self._d.eof:
                pending = self._d.unused_data + pending
                self._d = self._zstd.ZstdDecompressor()
                self._started = False
        self._tail = pending
        return out

    def pending(self) -> bool:
        return bool(self._tail) or not self._d.needs_input

    def finish(self) -> bytes:
        if self._started:
            raise ArchiveError("is truncated (its zstd stream ends early)")
        return b""


# A new format: its Decoder factory here.
_DECODERS: dict[Compression, Callable[[], Decoder]] = {Compression.GZIP: _Gzip, Compression.ZSTD: _Zstd}


def decoder_for(kind: Compression, what: str) -> Decoder:
    """A fresh decoder for ``kind``; ArchiveError naming ``what`` when this build has none."""
    factory = _DECODERS.get(kind)
    if factory is None:
        raise ArchiveError(f"{what} is {kind.value}-compressed: not supported")
    try:
        return factory()
    except ArchiveError as exc:
        raise ArchiveError(f"{what} {exc.message}") from None


def parse_digest(digest: str, where: str) -> tuple[str, str]:
    """("sha256", hex) of an OCI digest; ArchiveError naming ``where`` when it is malformed."""
    match = _DIGEST.match(digest)
    if match is None:
        raise ArchiveError(f"{where}: malformed digest {digest!r}")
    return match.group(1), match.group(2)


def inflate(src: Readable, size: int | None, out: BinaryIO, kind: Compression, *, what: str,
            budget: Budget, digest: str | None = None) -> int:
    """Decompress ``size`` bytes of ``src`` (all of it when None) into ``out``; the bytes written.

    ``what`` ("/x/img.tar: layer 3") starts every error. ``digest`` ("sha256:...") is checked against the
    compressed bytes as they are read."""
    decoder = decoder_for(kind, what)
    limits = budget.limits
    hasher = hashlib.new(parse_digest(digest, what)[0]) if digest else None
    remaining = size
    consumed = written = 0

    def emit(data: bytes) -> None:
        nonlocal written
        if not data:
            return
        written += len(data)
        budget.used += len(data)
        if budget.used > limits.max_decompressed_bytes:
            raise ArchiveError(f"{what} decompresses to more than {limits.max_decompressed_bytes} bytes "
                               "(limit)")
        if written > limits.ratio_floor and written > limits.max_ratio * max(consumed, 1):
            raise ArchiveError(f"{what} expands more than {limits.max_ratio}:1 (a decompression bomb?)")
        out.write(data)

    while remaining is None or remaining > 0:
        chunk = src.read(CHUNK if remaining is None else min(CHUNK, remaining))
        if not chunk:
            break
        if remaining is not None:
            remaining -= len(chunk)
        consumed += len(chunk)
        if hasher is not None:
            hasher.update(chunk)
        try:
            emit(decoder.decode(chunk, CHUNK))
            while decoder.pending():
                emit(decoder.decode(b"", CHUNK))
        except ArchiveError as exc:
            if exc.message.startswith(what):
                raise
            raise ArchiveError(f"{what} {exc.message}") from None
    try:
        emit(decoder.finish())
    except ArchiveError as exc:
        raise ArchiveError(f"{what} {exc.message}") from None
    if hasher is not None and digest is not None and hasher.hexdigest() != digest.split(":", 1)[1]:
        raise ArchiveError(f"{what} does not match its digest {digest}")
    return written
