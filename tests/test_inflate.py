"""Layers decompressed within limits, whatever their size: multi-member gzip, padding, truncation,
bombs, digests, and formats without a decoder named in one line."""

from __future__ import annotations

import gzip
import hashlib
import io

import pytest

from linkcheck.errors import ArchiveError
from linkcheck.image.inflate import Budget, Compression, Limits, inflate, sniff, zstd_module


def run(data: bytes, limits: Limits | None = None, digest: str | None = None) -> bytes:
    out = io.BytesIO()
    inflate(io.BytesIO(data), len(data), out, sniff(data[:6]), what="img: layer 1",
            budget=Budget(limits or Limits()), digest=digest)
    return out.getvalue()


def test_every_member_of_a_multi_member_gzip_and_padding_after_it() -> None:
    data = gzip.compress(b"one ") + gzip.compress(b"two") + b"\0" * 1024
    assert run(data) == b"one two"


def test_a_truncated_stream_is_named() -> None:
    data = gzip.compress(bytes(range(256)) * 1000)
    with pytest.raises(ArchiveError, match=r"^img: layer 1 is truncated \(its gzip stream ends early\)$"):
        run(data[: len(data) // 2])


def test_a_bomb_stops_at_the_ratio_limit_without_holding_it() -> None:
    data = gzip.compress(b"\0" * (8 << 20))
    with pytest.raises(ArchiveError, match="expands more than 10:1"):
        run(data, Limits(max_ratio=10, ratio_floor=1 << 20))
    with pytest.raises(ArchiveError, match="decompresses to more than 4194304 bytes"):
        run(data, Limits(max_decompressed_bytes=4 << 20))


def test_the_compressed_bytes_must_match_the_digest() -> None:
    data = gzip.compress(b"layer")
    assert run(data, digest="sha256:" + hashlib.sha256(data).hexdigest()) == b"layer"
    with pytest.raises(ArchiveError, match="does not match its digest"):
        run(data, digest="sha256:" + "0" * 64)


@pytest.mark.parametrize(("magic", "kind"), [(b"\xfd7zXZ\x00", Compression.XZ), (b"BZh9", Compression.BZIP2)])
def test_a_format_without_a_decoder_is_one_line(magic: bytes, kind: Compression) -> None:
    assert sniff(magic) is kind
    with pytest.raises(ArchiveError, match=f"^img: layer 1 is {kind.value}-compressed: not supported"):
        run(magic + b"\0" * 100)


def test_every_frame_of_a_zstd_stream_and_a_truncated_one_named() -> None:
    zstd = zstd_module()
    assert zstd is not None  # a declared dependency before Python 3.14, the standard library's after
    data = zstd.compress(b"one ") + zstd.compress(b"two" * 100_000)
    assert sniff(data[:6]) is Compression.ZSTD
    assert run(data) == b"one " + b"two" * 100_000
    with pytest.raises(ArchiveError, match=r"^img: layer 1 is truncated \(its zstd stream ends early\)$"):
        run(data[:-20])
    with pytest.raises(ArchiveError, match="^img: layer 1 is not valid zstd data"):
        run(data[:4] + b"\xff" * 64)
