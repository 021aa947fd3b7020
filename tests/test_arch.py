"""arch: ELF header fields -> machine names, loader paths, and platform names people type."""

from __future__ import annotations

import os

import pytest

from linkcheck.errors import UsageError
from linkcheck.facts.arch import (
    ABIS,
    abi_of,
    docker_arch_of,
    host_machine,
    libc_of_interpreter,
    machine_names,
    normalize_arch,
    parse_platform,
)
from linkcheck.image.manifest import PlatformChoice
from linkcheck.model import Libc


@pytest.mark.parametrize(
    ("e_machine", "cls", "endian", "flags", "machine", "docker"),
    [
        (62, 64, "little", 0, "x86_64", "amd64"),
        (3, 32, "little", 0, "i386", "386"),
        (183, 64, "little", 0, "aarch64", "arm64"),
        (40, 32, "little", 0x05000400, "armhf", "arm"),  # EABI5, hard-float
        (40, 32, "little", 0x05000200, "armel", "arm"),  # EABI5, soft-float
        (40, 32, "big", 0x05800200, "armeb", "armeb"),  # EABI5 BE8 (EF_ARM_BE8), soft-float
        (40, 32, "big", 0x05800400, "armeb", "armeb"),  # big-endian is armeb whatever the float ABI
        (40, 32, "big", 0, "armeb", "armeb"),  # BE32 (old ABI)
        (243, 64, "little", 0x5, "riscv64", "riscv64"),
        (21, 64, "little", 2, "ppc64le", "ppc64le"),
        (21, 64, "big", 1, "ppc64", "ppc64"),
        (22, 64, "big", 0, "s390x", "s390x"),
        (8, 32, "big", 0, "mips", "mips"),
        (8, 32, "little", 0, "mipsle", "mipsle"),
        (8, 64, "big", 0, "mips64", "mips64"),
        (8, 64, "little", 0, "mips64le", "mips64le"),
        (258, 64, "little", 0, "loongarch64", "loong64"),
        (9999, 64, "little", 0, "unknown-9999", "unknown-9999"),
    ],
)
def test_machine_names(e_machine: int, cls: int, endian: str, flags: int, machine: str, docker: str) -> None:
    assert machine_names(e_machine, cls, endian, flags) == (machine, docker)
    if not machine.startswith("unknown"):
        assert docker_arch_of(machine) == docker


@pytest.mark.parametrize(
    ("machine", "glibc", "musl"),
    [
        ("x86_64", "/lib64/ld-linux-x86-64.so.2", "/lib/ld-musl-x86_64.so.1"),
        ("i386", "/lib/ld-linux.so.2", "/lib/ld-musl-i386.so.1"),
        ("aarch64", "/lib/ld-linux-aarch64.so.1", "/lib/ld-musl-aarch64.so.1"),
        ("armhf", "/lib/ld-linux-armhf.so.3", "/lib/ld-musl-armhf.so.1"),
        ("armel", "/lib/ld-linux.so.3", "/lib/ld-musl-arm.so.1"),
        ("riscv64", "/lib/ld-linux-riscv64-lp64d.so.1", "/lib/ld-musl-riscv64.so.1"),
        ("ppc64le", "/lib64/ld64.so.2", "/lib/ld-musl-powerpc64le.so.1"),
        ("s390x", "/lib/ld64.so.1", "/lib/ld-musl-s390x.so.1"),
    ],
)
def test_loaders(machine: str, glibc: str, musl: str) -> None:
    abi = abi_of(machine)
    assert abi is not None and abi.glibc_loader == glibc and abi.musl_loader == musl
    assert libc_of_interpreter(glibc) is Libc.GLIBC
    assert libc_of_interpreter(musl) is Libc.MUSL
    assert libc_of_interpreter(abi.uclibc_loader) is Libc.UCLIBC


def test_the_abi_table_is_consistent_with_the_machine_names() -> None:
    for abi in ABIS:
        assert docker_arch_of(abi.machine) == abi.docker_arch
        assert normalize_arch(abi.machine) == abi.machine
    assert abi_of("unknown-9999") is None


@pytest.mark.parametrize(
    ("path", "libc"),
    [
        ("/lib/ld-uClibc.so.0", Libc.UCLIBC),
        ("/lib/ld64-uClibc.so.0", Libc.UCLIBC),
        ("/system/bin/linker", Libc.BIONIC),
        ("/system/bin/linker64", Libc.BIONIC),
        ("/usr/bin/linker64", Libc.UNKNOWN),
        ("/opt/myld.so", Libc.UNKNOWN),
    ],
)
def test_libc_of_interpreter(path: str, libc: Libc) -> None:
    assert libc_of_interpreter(path) is libc


@pytest.mark.parametrize(
    ("text", "machine"),
    [
        ("linux/amd64", "x86_64"),
        ("amd64", "x86_64"),
        ("x86_64", "x86_64"),
        ("linux/arm64", "aarch64"),
        ("arm64", "aarch64"),
        ("aarch64", "aarch64"),
        ("linux/arm64/v8", "aarch64"),
        ("linux/arm/v7", "armhf"),
        ("linux/arm/v5", "armel"),
        ("linux/386", "i386"),
        ("i686", "i386"),
        ("linux/ppc64le", "ppc64le"),
        ("linux/s390x", "s390x"),
        ("linux/riscv64", "riscv64"),
        ("linux/mips64le", "mips64le"),
        ("LINUX/AMD64", "x86_64"),
    ],
)
def test_normalize_arch(text: str, machine: str) -> None:
    assert normalize_arch(text) == machine


@pytest.mark.parametrize("text", ["", "sparc", "linux/", "windows/amd64", "arm64 extra"])
def test_normalize_arch_refuses_unknown_names(text: str) -> None:
    with pytest.raises(UsageError, match="unknown architecture") as info:
        normalize_arch(text)
    assert "\n" not in str(info.value)


PLATFORMS = [
    ("linux/amd64", ("x86_64", None)),
    ("linux/amd64/v3", ("x86_64", "v3")),
    ("linux/arm64/v8", ("aarch64", "v8")),
    ("arm64", ("aarch64", None)),
    ("aarch64", ("aarch64", None)),
    ("linux/arm/v7", ("armhf", "v7")),
    ("linux/arm/v6", ("armhf", "v6")),
    ("linux/arm/v5", ("armel", "v5")),
    ("linux/arm", ("armhf", None)),
    ("linux/386", ("i386", None)),
    (" LINUX/PPC64LE ", ("ppc64le", None)),
    ("linux/loong64", ("loongarch64", None)),
]


@pytest.mark.parametrize(("text", "expected"), PLATFORMS)
def test_a_platform_is_a_machine_and_a_variant(text: str, expected: tuple[str, str | None]) -> None:
    assert parse_platform(text) == expected


def test_no_platform_is_this_hosts_machine() -> None:
    assert parse_platform(None) == (host_machine(), None)
    assert host_machine() == normalize_arch(os.uname().machine)  # this machine's name is a known one


@pytest.mark.parametrize("text", ["sparc", "windows/amd64", "linux/vax/v1", "arm64 extra"])
def test_an_unknown_platform_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="unknown architecture"):
        parse_platform(text)


@pytest.mark.parametrize(("text", "expected"), PLATFORMS)
def test_the_image_an_index_offers_is_chosen_by_the_same_reading(text: str,
                                                                 expected: tuple[str, str | None]) -> None:
    machine, variant = expected
    assert PlatformChoice.parse(text) == PlatformChoice(docker_arch_of(machine), variant)
