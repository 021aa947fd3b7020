"""Wheels built here with zipfile from the fixtures: their tags against the modules they carry."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from linkcheck.errors import ArchiveError
from linkcheck.facts.wheel import PlatformKind, WheelReport, parse_platform_tag, read_wheel
from linkcheck.image.rootfs import target_from_tree
from linkcheck.image.tree import DirectoryTree
from linkcheck.model import Libc, Outcome, Severity

from conftest import FIXTURE_BIN, SHARED_ROOTFS


def make_wheel(tmp_path: Path, tag: str, members: dict[str, str | bytes], *, wheel_tag: str | None = None,
               ) -> Path:
    path = tmp_path / f"demo-1.0-{tag}.whl"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            data = (FIXTURE_BIN / content).read_bytes() if isinstance(content, str) else content
            zf.writestr(name, data)
        zf.writestr("demo-1.0.dist-info/WHEEL",
                    f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: {wheel_tag or tag}\n")
    return path


def kinds(report: WheelReport) -> list[str]:
    return [f.kind for f in report.findings]


@pytest.mark.parametrize(("tag", "kind", "libc", "version", "machine"), [
    ("manylinux_2_28_x86_64", PlatformKind.MANYLINUX, Libc.GLIBC, (2, 28), "x86_64"),
    ("manylinux2014_x86_64", PlatformKind.MANYLINUX, Libc.GLIBC, (2, 17), "x86_64"),
    ("manylinux2010_i686", PlatformKind.MANYLINUX, Libc.GLIBC, (2, 12), "i386"),
    ("manylinux1_x86_64", PlatformKind.MANYLINUX, Libc.GLIBC, (2, 5), "x86_64"),
    ("musllinux_1_2_aarch64", PlatformKind.MUSLLINUX, Libc.MUSL, (1, 2), "aarch64"),
    ("manylinux_2_31_armv7l", PlatformKind.MANYLINUX, Libc.GLIBC, (2, 31), "armhf"),
    ("linux_x86_64", PlatformKind.LINUX, None, None, "x86_64"),
    ("any", PlatformKind.ANY, None, None, None),
    ("macosx_11_0_arm64", PlatformKind.OTHER, None, None, None),
])
def test_platform_tags(tag: str, kind: PlatformKind, libc: Libc | None, version: tuple[int, int] | None,
                       machine: str | None) -> None:
    parsed = parse_platform_tag(tag)
    assert (parsed.kind, parsed.libc, parsed.libc_version, parsed.machine) == (kind, libc, version, machine)


def test_manylinux_wheel_is_glibc_only(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
                       {"demo/_hello.cpython-311-x86_64-linux-gnu.so": "libhello-glibc.so"},
                       wheel_tag="cp311-cp311-manylinux_2_17_x86_64\nTag: cp311-cp311-manylinux2014_x86_64")
    report = read_wheel(str(wheel))
    assert report.distribution == "demo" and report.version == "1.0"
    assert report.promised_glibc == (2, 17)
    assert [m.member for m in report.modules] == ["demo/_hello.cpython-311-x86_64-linux-gnu.so"]
    assert report.modules[0].analysis is not None and report.modules[0].analysis.elf is not None
    assert kinds(report) == ["glibc-only"]
    assert "alpine" in report.findings[0].message
    assert report.ok


def test_module_needing_newer_glibc_than_the_tag(tmp_path: Path) -> None:
    # c-glibc-dynamic needs GLIBC_2.34 (its manifest entry says so); the tag promises 2.17.
    wheel = make_wheel(tmp_path, "cp311-cp311-manylinux_2_17_x86_64", {"demo/_new.so": "c-glibc-dynamic"})
    report = read_wheel(str(wheel))
    newer = [f for f in report.findings if f.kind == "glibc-newer-than-tag"]
    assert len(newer) == 1 and newer[0].severity is Severity.ERROR and newer[0].member == "demo/_new.so"
    assert "GLIBC_2.34" in newer[0].message and "2.17" in newer[0].message
    assert not report.ok


def test_musllinux_wheel(tmp_path: Path) -> None:
    good = read_wheel(str(make_wheel(tmp_path, "cp311-cp311-musllinux_1_2_x86_64",
                                     {"demo/_hello.so": "libhello-musl.so"})))
    assert good.findings == () and good.ok
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    bad = read_wheel(str(make_wheel(bad_dir, "cp311-cp311-musllinux_1_2_x86_64",
                                    {"demo/_hello.so": "libhello-glibc.so"})))
    assert kinds(bad) == ["libc-mismatch"] and not bad.ok


def test_arch_mismatch(tmp_path: Path) -> None:
    report = read_wheel(str(make_wheel(tmp_path, "cp311-cp311-manylinux_2_17_aarch64",
                                       {"demo/_hello.so": "libhello-glibc.so"})))
    assert "arch-mismatch" in kinds(report)


def test_libc_free_module_may_load_on_musl(tmp_path: Path) -> None:
    report = read_wheel(str(make_wheel(tmp_path, "cp311-cp311-manylinux_2_17_x86_64",
                                       {"demo/_pure.so": "libnolibc.so"})))
    assert kinds(report) == ["glibc-only"]
    assert report.findings[0].severity is Severity.NOTE and "may still load" in report.findings[0].message


def test_compiled_module_under_pure_tag(tmp_path: Path) -> None:
    report = read_wheel(str(make_wheel(tmp_path, "py3-none-any", {"demo/_hello.so": "libhello-glibc.so"})))
    assert kinds(report) == ["compiled-in-pure"]


def test_bundled_libraries_are_origin_candidates(tmp_path: Path) -> None:
    # c-runpath needs libfixture.so through RUNPATH $ORIGIN/lib: shipped in the wheel, it is found there.
    target = target_from_tree(DirectoryTree("/"), "host")
    wheel = make_wheel(tmp_path, "cp311-cp311-manylinux_2_34_x86_64",
                       {"demo/_ext.so": "c-runpath", "demo/lib/libfixture.so": "lib/libfixture.so"})
    report = read_wheel(str(wheel), target=target)
    assert [m.member for m in report.modules] == ["demo/_ext.so", "demo/lib/libfixture.so"]
    ext = report.modules[0]
    assert len(ext.verdicts) == 1 and ext.verdicts[0].runs, ext.verdicts[0].explanation
    assert "/site-packages/demo/lib/libfixture.so" in [lib.path for lib in ext.verdicts[0].loaded]
    assert report.to_dict()["ok"] is True
    alone = tmp_path / "alone"
    alone.mkdir()
    missing = read_wheel(str(make_wheel(alone, "cp311-cp311-manylinux_2_34_x86_64",
                                        {"demo/_ext.so": "c-runpath"})), target=target)
    assert missing.modules[0].verdicts[0].outcome is Outcome.MISSING_LIBRARY and not missing.ok


def test_auditwheel_libs_directory_is_bundled(tmp_path: Path) -> None:
    report = read_wheel(str(make_wheel(tmp_path, "cp311-cp311-manylinux_2_17_x86_64",
                                       {"demo.libs/libhello-ab12.so": "libhello-glibc.so"})))
    assert [(m.member, m.bundled) for m in report.modules] == [("demo.libs/libhello-ab12.so", True)]


def test_not_a_wheel(tmp_path: Path) -> None:
    junk = tmp_path / "x-1.0-py3-none-any.whl"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ArchiveError, match="not a readable wheel"):
        read_wheel(str(junk))
    with pytest.raises(ArchiveError, match="no such file"):
        read_wheel(str(tmp_path / "absent.whl"))


def test_zip_bomb_member_is_refused_not_read(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "cp311-cp311-manylinux_2_17_x86_64", {"demo/_big.so": b"\x00" * (8 << 20)})
    report = read_wheel(str(wheel))
    assert report.modules[0].analysis is None
    assert report.modules[0].error is not None and "zip bomb" in report.modules[0].error


def test_corrupt_member_is_an_error_for_that_module_only(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "cp311-cp311-musllinux_1_2_x86_64",
                       {"demo/_a.so": "libhello-musl.so", "demo/_b.so": "libhello-musl.so"})
    data = bytearray(wheel.read_bytes())
    # Flip a byte inside the first member's compressed data: its CRC no longer matches.
    start = data.index(b"demo/_a.so") + len("demo/_a.so") + 200
    data[start] ^= 0xFF
    wheel.write_bytes(bytes(data))
    report = read_wheel(str(wheel))
    assert [(m.member, m.error is not None) for m in report.modules] == [
        ("demo/_a.so", True), ("demo/_b.so", False)]
    assert report.modules[0].error is not None and "\n" not in report.modules[0].error


ALPINE = SHARED_ROOTFS / "alpine-3.20.3-x86_64.tar.gz"


@pytest.mark.skipif(not ALPINE.is_file(), reason="shared alpine rootfs tarball absent")
def test_manylinux_modules_against_alpine(tmp_path: Path) -> None:
    from linkcheck.image.target import load_target

    alpine = load_target(str(ALPINE))
    wheel = make_wheel(tmp_path, "cp311-cp311-manylinux_2_17_x86_64",
                       {"demo/_cxx.so": "cxx-glibc", "demo/_pure.so": "libnolibc.so"})
    report = read_wheel(str(wheel), target=alpine)
    by_member = {m.member: m for m in report.modules}
    assert by_member["demo/_cxx.so"].verdicts[0].runs is False  # glibc's loader and libstdc++: absent
    assert by_member["demo/_pure.so"].verdicts[0].runs is True  # needs nothing libc-specific
    assert "glibc-only" in kinds(report)
    musl_dir = tmp_path / "musl"
    musl_dir.mkdir()
    musl = read_wheel(str(make_wheel(musl_dir, "cp311-cp311-musllinux_1_2_x86_64",
                                     {"demo/_hello.so": "libhello-musl.so"})), target=alpine)
    assert musl.ok and musl.modules[0].verdicts[0].runs


@pytest.mark.parametrize(("tag", "target", "installable"), [
    # pip's tag rules: manylinux_X_Y needs glibc >= X.Y, musllinux needs musl, the machine must match.
    ("cp311-cp311-manylinux_2_17_x86_64", "debian:bookworm-slim", True),
    ("cp311-cp311-manylinux2014_x86_64", "debian:bullseye-slim", True),
    ("cp311-cp311-manylinux_2_17_x86_64", "alpine:3.20", False),
    ("cp311-cp311-manylinux_2_38_x86_64", "debian:bookworm-slim", False),  # bookworm's glibc is 2.36
    ("cp311-cp311-manylinux_2_38_x86_64", "debian:trixie-slim", True),
    ("cp311-cp311-musllinux_1_2_x86_64", "alpine:3.20", True),
    ("cp311-cp311-musllinux_1_2_x86_64", "debian:bookworm-slim", False),
    ("cp311-cp311-manylinux_2_17_aarch64", "debian:bookworm-slim", False),  # amd64 image
    ("cp311-cp311-manylinux_2_17_x86_64.musllinux_1_1_x86_64", "alpine:3.20", True),
    ("cp311-cp311-linux_x86_64", "alpine:3.20", True),
])
def test_pip_in_the_target_takes_the_wheel_only_if_a_tag_fits(tmp_path: Path, tag: str, target: str,
                                                              installable: bool) -> None:
    from linkcheck.image.target import load_target

    wheel = make_wheel(tmp_path, tag, {"demo/_nolibc.so": "libnolibc.so"})
    report = read_wheel(str(wheel), target=load_target(target, platform="amd64"))
    refused = [f for f in report.findings if f.kind == "not-installable"]
    assert (not refused) is installable, report.findings
    if refused:
        assert refused[0].severity is Severity.ERROR and target in refused[0].message


PY_LOADS = b'''import ctypes, ctypes.util
from cffi import FFI
ctypes.CDLL("libyaml-0.so.2")
ctypes.cdll.LoadLibrary('libgmp.so.10')
FFI().dlopen("libsodium.so.23")
ctypes.CDLL(ctypes.util.find_library("ssl"))  # a name found at run time: not read
ctypes.CDLL("libbundled.so.1")
'''


def test_python_code_loading_a_library_by_name_the_image_lacks_is_a_note(tmp_path: Path) -> None:
    from factories import glibc_target, lib

    wheel = make_wheel(tmp_path, "py3-none-any", {"demo/__init__.py": PY_LOADS,
                                                  "demo.libs/libbundled.so.1": b"not read"})
    target = glibc_target([lib("/usr/lib/x86_64-linux-gnu/libgmp.so.10")])
    loads = [f for f in read_wheel(str(wheel), target=target).findings if f.kind == "runtime-load"]
    assert [(f.severity, f.member) for f in loads] == [(Severity.NOTE, None)] * 2
    assert 'demo/__init__.py may load libyaml-0.so.2 at run time (CDLL("libyaml-0.so.2"))' in loads[0].message
    assert "libsodium.so.23: cannot open shared object file" in loads[1].message
    assert "runtime-load" not in kinds(read_wheel(str(wheel)))  # judged only against a target
