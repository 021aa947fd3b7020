"""Reducing a layer to what a verdict reads: the same facts from the kept bytes as from the whole files;
decompression streamed, bounded and digest-checked."""

from __future__ import annotations

import gzip
import hashlib
import io
import struct
import tarfile
from pathlib import Path

import pytest

from linkcheck.errors import ArchiveError, DigestMismatchError
from linkcheck.image.archive import open_image_tree
from linkcheck.image.inflate import DEFAULT_LIMITS, Budget, Limits, zstd_module
from linkcheck.image.layerkeep import Inflater, kept_ranges, reduce_layer
from linkcheck.image.rootfs import target_from_tree

from conftest import SHARED_ROOTFS


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def reduce_bytes(layer: bytes, out: Path, limits: Limits = DEFAULT_LIMITS) -> Inflater:
    inflater = Inflater(io.BytesIO(layer).read, digest(layer), "layer", Budget(limits))
    with open(out, "wb") as f:
        reduce_layer(io.BufferedReader(inflater), f, "layer", limits)
    inflater.verify()
    return inflater


@pytest.mark.parametrize("rootfs", ["alpine-3.20.3-x86_64.tar.gz", "alpine-3.20.3-aarch64.tar.gz"])
def test_every_library_reads_the_same_from_the_kept_bytes(rootfs: str, tmp_path: Path) -> None:
    source = SHARED_ROOTFS / rootfs
    if not source.exists():
        pytest.skip(f"{source} is absent (real image roots live in ../shared/rootfs)")
    reduce_bytes(source.read_bytes(), tmp_path / "reduced.tar")
    with open_image_tree(str(source)) as full, open_image_tree(str(tmp_path / "reduced.tar")) as kept:
        whole, part = target_from_tree(full, "x"), target_from_tree(kept, "x")
        assert (whole.libc, whole.libc_version, whole.loaders, whole.search_dirs) == (
            part.libc, part.libc_version, part.loaders, part.search_dirs)
        libraries = 0
        for path in full.paths():
            entry = full.lstat(path)
            assert entry == kept.lstat(path)
            if entry is not None and entry.kind.value == "file":
                library = whole.files.library(path)
                libraries += library is not None
                assert library == part.files.library(path), path
        assert libraries > 10  # libc, libz, libcrypto, libssl, libapk ...


def test_a_large_elf_file_keeps_its_headers_not_its_code() -> None:
    head = bytearray(64 << 10)
    head[:4] = b"\x7fELF"
    head[4], head[5] = 2, 1  # 64-bit little-endian
    # e_phoff=64, e_shoff=10 MB, e_phentsize=56, e_phnum=1, e_shentsize=64, e_shnum=30
    struct.pack_into("<QQ", head, 32, 64, 10 << 20)
    struct.pack_into("<HHHH", head, 54, 56, 1, 64, 30)
    struct.pack_into("<IIQQQQQQ", head, 64, 1, 5, 0, 0, 0, 8192, 8192, 4096)  # PT_LOAD of 8 KiB
    ranges = kept_ranges("/usr/lib/libbig.so", bytes(head), (10 << 20) + 30 * 64)
    assert sum(end - start for start, end in ranges) < 16 << 10
    assert ranges[0][0] == 0 and ranges[-1][1] == (10 << 20) + 30 * 64


def test_loaders_and_configuration_are_kept_whole_and_data_not_at_all() -> None:
    elf = b"\x7fELF" + bytes(60)
    assert kept_ranges("/lib/ld-musl-x86_64.so.1", elf, 700_000) == ((0, 700_000),)
    assert kept_ranges("/etc/ld.so.conf", b"include /etc/ld.so.conf.d/*.conf", 34) == ((0, 34),)
    assert kept_ranges("/usr/share/doc/big.txt", b"text", 5_000_000) == ()


def layer_with(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_gzip_members_and_zstd_frames_are_read_to_the_end(tmp_path: Path) -> None:
    tar = layer_with({"etc/ld.so.conf": b"/opt/lib\n", "etc/os-release": b"ID=test\n"})
    two_members = gzip.compress(tar[:1000]) + gzip.compress(tar[1000:])
    reduce_bytes(two_members, tmp_path / "a.tar")
    zstd = zstd_module()
    assert zstd is not None  # a declared dependency (the standard library's from Python 3.14)
    frames = zstd.compress(tar[:700]) + zstd.compress(tar[700:])
    reduce_bytes(frames, tmp_path / "b.tar")
    for name in ("a.tar", "b.tar"):
        with tarfile.open(tmp_path / name) as out:
            assert out.extractfile("etc/ld.so.conf").read() == b"/opt/lib\n"  # type: ignore[union-attr]


def test_a_truncated_layer_is_an_archive_error(tmp_path: Path) -> None:
    data = gzip.compress(layer_with({"etc/a": b"x" * 100_000}))[:-200]
    with pytest.raises(ArchiveError):
        reduce_bytes(data, tmp_path / "t.tar")


def test_a_decompression_bomb_stops_at_the_limit(tmp_path: Path) -> None:
    bomb = gzip.compress(layer_with({"etc/zero": bytes(8 << 20)}))
    with pytest.raises(ArchiveError) as info:
        reduce_bytes(bomb, tmp_path / "b.tar", Limits(max_ratio=10, ratio_floor=1 << 20))
    assert "bomb" in str(info.value)


def test_other_bytes_than_the_digest_names_are_refused(tmp_path: Path) -> None:
    good = gzip.compress(layer_with({"etc/a": b"hello"}))
    inflater = Inflater(io.BytesIO(good).read, digest(good + b"x"), "layer", Budget(DEFAULT_LIMITS))
    with open(tmp_path / "o.tar", "wb") as f:
        reduce_layer(io.BufferedReader(inflater), f, "layer")
    with pytest.raises(DigestMismatchError):
        inflater.verify()


def test_the_layers_of_one_image_share_one_decompression_budget(tmp_path: Path) -> None:
    layer = gzip.compress(layer_with({"etc/a": bytes(300_000)}))
    budget = Budget(Limits(max_decompressed_bytes=500_000))
    for i, expect_ok in enumerate((True, False)):
        inflater = Inflater(io.BytesIO(layer).read, digest(layer), f"layer {i + 1}", budget)
        with open(tmp_path / f"{i}.tar", "wb") as f:
            if expect_ok:
                reduce_layer(io.BufferedReader(inflater), f, "layer 1")
            else:
                with pytest.raises(ArchiveError, match="layer 2 decompresses to more than 500000 bytes"):
                    reduce_layer(io.BufferedReader(inflater), f, "layer 2")
