"""Architectures: ELF header fields -> names, and the default loader paths per libc and machine.

Machine names follow ``uname -m`` (x86_64, aarch64 ...) with the Debian split of 32-bit ARM into armhf
and armel; Docker/OCI names (amd64, arm64 ...) are kept beside them. ABI facts that never vary stay here
as small tables.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass

from linkcheck.errors import UsageError
from linkcheck.model import Libc

EM_386 = 3
EM_MIPS = 8
EM_PPC = 20
EM_PPC64 = 21
EM_S390 = 22
EM_ARM = 40
EM_SPARCV9 = 43
EM_X86_64 = 62
EM_AARCH64 = 183
EM_RISCV = 243
EM_LOONGARCH = 258
EM_SPARC, EM_SPARC32PLUS = 2, 18

# The IRELATIVE relocation type per e_machine (glibc's elf.h; musl's loader refuses every one of
# them with "unsupported relocation type N"). MIPS has none.
IRELATIVE_RELOC = {
    EM_X86_64: 37,  # R_X86_64_IRELATIVE (also x32)
    EM_386: 42,  # R_386_IRELATIVE
    EM_AARCH64: 1032,  # R_AARCH64_IRELATIVE
    EM_ARM: 160,  # R_ARM_IRELATIVE
    EM_PPC: 248,  # R_PPC_IRELATIVE
    EM_PPC64: 248,  # R_PPC64_IRELATIVE
    EM_S390: 61,  # R_390_IRELATIVE
    EM_RISCV: 58,  # R_RISCV_IRELATIVE
    EM_LOONGARCH: 12,  # R_LARCH_IRELATIVE
    EM_SPARC: 249,  # R_SPARC_IRELATIVE
    EM_SPARC32PLUS: 249,
    EM_SPARCV9: 249,
}

# The COPY relocation type per e_machine (glibc's elf.h): an executable's copy of a library's data
# object, which the loader must find in a library at start whatever the binding mode.
COPY_RELOC = {
    EM_X86_64: 5,  # R_X86_64_COPY
    EM_386: 5,  # R_386_COPY
    EM_AARCH64: 1024,  # R_AARCH64_COPY
    EM_ARM: 20,  # R_ARM_COPY
    EM_PPC: 19,  # R_PPC_COPY
    EM_PPC64: 19,  # R_PPC64_COPY
    EM_S390: 9,  # R_390_COPY
    EM_RISCV: 4,  # R_RISCV_COPY
    EM_LOONGARCH: 4,  # R_LARCH_COPY
    EM_SPARC: 19,  # R_SPARC_COPY
    EM_SPARC32PLUS: 19,
    EM_SPARCV9: 19,
}

EF_ARM_ABI_FLOAT_HARD = 0x400

# machine -> Docker/OCI architecture
_DOCKER_ARCH = {
    "x86_64": "amd64",
    "x32": "amd64",
    "i386": "386",
    "aarch64": "arm64",
    "armhf": "arm",
    "armel": "arm",
    "armeb": "armeb",  # no Docker/OCI platform exists for big-endian ARM
    "riscv64": "riscv64",
    "ppc64le": "ppc64le",
    "ppc64": "ppc64",
    "ppc": "ppc",
    "s390x": "s390x",
    "s390": "s390",
    "mips": "mips",
    "mipsle": "mipsle",
    "mips64": "mips64",
    "mips64le": "mips64le",
    "loongarch64": "loong64",
    "sparc64": "sparc64",
}

@dataclass(frozen=True, slots=True)
class Abi:
    """ABI facts about one machine that never vary: the psABI fixes the interpreter paths, Debian the
    multiarch tuple. The one table of them; root filesystems are read with it (image/rootfs.py)."""

    machine: str
    docker_arch: str
    elf_class: int
    triplet: str  # Debian multiarch tuple
    glibc_loader: str
    musl_arch: str  # the <arch> in /lib/ld-musl-<arch>.so.1
    uclibc_loader: str

    @property
    def musl_loader(self) -> str:
        return f"/lib/ld-musl-{self.musl_arch}.so.1"


ABIS: tuple[Abi, ...] = (
    Abi("x86_64", "amd64", 64, "x86_64-linux-gnu", "/lib64/ld-linux-x86-64.so.2", "x86_64",
        "/lib/ld64-uClibc.so.0"),
    Abi("aarch64", "arm64", 64, "aarch64-linux-gnu", "/lib/ld-linux-aarch64.so.1", "aarch64",
        "/lib/ld64-uClibc.so.0"),
    Abi("i386", "386", 32, "i386-linux-gnu", "/lib/ld-linux.so.2", "i386", "/lib/ld-uClibc.so.0"),
    Abi("armhf", "arm", 32, "arm-linux-gnueabihf", "/lib/ld-linux-armhf.so.3", "armhf",
        "/lib/ld-uClibc.so.0"),
    Abi("armel", "arm", 32, "arm-linux-gnueabi", "/lib/ld-linux.so.3", "arm", "/lib/ld-uClibc.so.0"),
    Abi("riscv64", "riscv64", 64, "riscv64-linux-gnu", "/lib/ld-linux-riscv64-lp64d.so.1", "riscv64",
        "/lib/ld64-uClibc.so.0"),
    Abi("ppc64le", "ppc64le", 64, "powerpc64le-linux-gnu", "/lib64/ld64.so.2", "powerpc64le",
        "/lib/ld64-uClibc.so.0"),
    Abi("s390x", "s390x", 64, "s390x-linux-gnu", "/lib/ld64.so.1", "s390x", "/lib/ld64-uClibc.so.0"),
)


def abi_of(machine: str) -> Abi | None:
    """The ABI facts of a machine linkcheck reads root filesystems for, or None."""
    for abi in ABIS:
        if abi.machine == machine:
            return abi
    return None


# Names people and tools use for a platform -> machine name. Keys are lower case, "linux/" removed.
_ARCH_ALIASES = {
    "x86_64": "x86_64",
    "x86-64": "x86_64",
    "amd64": "x86_64",
    "x64": "x86_64",
    "i386": "i386",
    "i486": "i386",
    "i586": "i386",
    "i686": "i386",
    "386": "i386",
    "x86": "i386",
    "aarch64": "aarch64",
    "arm64": "aarch64",
    "arm64/v8": "aarch64",
    "armv8": "aarch64",
    "arm": "armhf",  # Docker's linux/arm means linux/arm/v7
    "arm/v7": "armhf",
    "arm/v6": "armhf",  # Alpine's armhf is ARMv6 hard-float
    "armv7": "armhf",
    "armv7l": "armhf",
    "armv6l": "armhf",
    "armhf": "armhf",
    "arm/v5": "armel",
    "armv5": "armel",
    "armel": "armel",
    "armeb": "armeb",
    "armv7b": "armeb",
    "riscv64": "riscv64",
    "ppc64le": "ppc64le",
    "ppc64el": "ppc64le",
    "powerpc64le": "ppc64le",
    "ppc64": "ppc64",
    "powerpc64": "ppc64",
    "s390x": "s390x",
    "mips": "mips",
    "mipsle": "mipsle",
    "mipsel": "mipsle",
    "mips64": "mips64",
    "mips64le": "mips64le",
    "mips64el": "mips64le",
    "loong64": "loongarch64",
    "loongarch64": "loongarch64",
}


def machine_names(e_machine: int, elf_class: int, endianness: str, e_flags: int) -> tuple[str, str]:
    """(machine, docker_arch) for an ELF header; ("unknown-<e_machine>", same) when not known."""
    little = endianness == "little"
    machine: str | None = None
    if e_machine == EM_X86_64:
        machine = "x86_64" if elf_class == 64 else "x32"
    elif e_machine == EM_386:
        machine = "i386"
    elif e_machine == EM_AARCH64:
        machine = "aarch64" if elf_class == 64 else None
    elif e_machine == EM_ARM:
        # Big-endian ARM (BE8 or the older BE32) is a machine of its own: a little-endian ARM kernel
        # reads the header in its own byte order, sees e_machine 0x2800 rather than EM_ARM, and refuses
        # the file (ENOEXEC); armel/armhf userlands cannot load its libraries either.
        hard = e_flags & EF_ARM_ABI_FLOAT_HARD
        machine = "armeb" if not little else "armhf" if hard else "armel"
    elif e_machine == EM_RISCV:
        machine = "riscv64" if elf_class == 64 else None
    elif e_machine == EM_PPC64:
        machine = "ppc64le" if little else "ppc64"
    elif e_machine == EM_PPC:
        machine = "ppc" if not little else None
    elif e_machine == EM_S390:
        machine = "s390x" if elf_class == 64 else "s390"
    elif e_machine == EM_MIPS:
        machine = ("mips64" if elf_class == 64 else "mips") + ("le" if little else "")
    elif e_machine == EM_LOONGARCH:
        machine = "loongarch64" if elf_class == 64 else None
    elif e_machine == EM_SPARCV9:
        machine = "sparc64"
    if machine is None:
        unknown = f"unknown-{e_machine}"
        return unknown, unknown
    return machine, _DOCKER_ARCH[machine]


def libc_of_interpreter(path: str) -> Libc:
    """Which libc a program interpreter path belongs to, judged by its file name (so that
    /nix/store/...-glibc-2.38/lib/ld-linux-x86-64.so.2 is glibc too)."""
    base = posixpath.basename(path)
    if base.startswith("ld-musl-"):
        return Libc.MUSL
    if base.startswith("ld-uClibc") or base.startswith("ld64-uClibc"):
        return Libc.UCLIBC
    if path in ("/system/bin/linker", "/system/bin/linker64", "/apex/com.android.runtime/bin/linker",
                "/apex/com.android.runtime/bin/linker64"):
        return Libc.BIONIC
    if base.startswith("ld-linux") or base in ("ld64.so.1", "ld64.so.2", "ld.so.1"):
        return Libc.GLIBC
    return Libc.UNKNOWN


def normalize_arch(text: str) -> str:
    """A platform or architecture as people write it ("linux/arm64", "amd64", "armv7l") -> machine name.

    Raises UsageError for a name not known."""
    key = text.strip().lower()
    if key.startswith("linux/"):
        key = key[len("linux/") :]
    machine = _ARCH_ALIASES.get(key)
    if machine is None:
        known = ", ".join(sorted(set(_DOCKER_ARCH.values()) - {"sparc64", "ppc", "s390", "armeb"}))
        raise UsageError(f"unknown architecture {text!r} (known: {known})")
    return machine


def host_machine() -> str:
    """This host's machine (x86_64, aarch64 ...): the platform ``docker run`` picks when none is named."""
    raw = os.uname().machine  # what platform.machine() says, without importing platform
    try:
        return normalize_arch(raw)
    except UsageError:
        return raw.lower()


def parse_platform(platform: str | None) -> tuple[str, str | None]:
    """(machine, variant) of a platform as ``docker run --platform`` and image configs write it
    ("linux/arm64", "linux/arm/v7", "linux/amd64/v3", "arm64/v8", "aarch64"); this host's machine for
    None. The one reading of platforms: --platform, the image an index offers, an image config's
    architecture. Raises UsageError for a platform no machine is known for."""
    if platform is None:
        return host_machine(), None
    key = platform.strip().lower().removeprefix("linux/")
    head, sep, variant = key.rpartition("/")
    machine = _ARCH_ALIASES.get(key)
    if machine is not None:
        return machine, variant if sep else None
    if sep and head:  # "amd64/v3": the variant does not change the machine
        return normalize_arch(head), variant
    return normalize_arch(platform), None  # raises, naming it


def platform_machine(platform: str | None) -> str:
    """The machine a platform names (``parse_platform``); this host's for None."""
    return parse_platform(platform)[0]


def docker_arch_of(machine: str) -> str:
    """machine name -> Docker/OCI architecture; unknown machines map to themselves."""
    return _DOCKER_ARCH.get(machine, machine)
