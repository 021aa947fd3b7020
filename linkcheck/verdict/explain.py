"""Text for verdicts: the messages the kernel, loaders, env and shells print, plain explanations,
and fixes fitted to the file's toolchain. Pure functions of facts; checks.py decides which apply."""

from __future__ import annotations

import enum
import posixpath
from collections.abc import Sequence

from linkcheck.model import ElfFacts, Language, Libc, Target, TargetFiles, version_key

# --------------------------------------------------------------------------------------------
# What gets printed
# --------------------------------------------------------------------------------------------


class Shell(str, enum.Enum):
    BASH = "bash"  # 5.2 or later
    OLD_BASH = "bash<5.2"
    ASH = "ash"  # busybox
    DASH = "dash"  # Debian's /bin/sh
    NONE = "none"


def shell_of(target: Target) -> Shell:
    """The shell a person would get in the image: bash when present, else busybox ash, else the
    /bin/sh there (dash on Debian). bash's version is inferred from glibc's, which ship together in
    Debian and Ubuntu: glibc 2.36 came with bash 5.2 (Debian 12, Ubuntu 22.10), earlier ones with
    bash 5.0/5.1 (Debian 11, Ubuntu 20.04/22.04)."""
    files = target.files
    if files.exists("/bin/bash") or files.exists("/usr/bin/bash"):
        glibc = version_key("GLIBC_" + (target.libc_version or ""), "GLIBC_")
        old = target.libc is Libc.GLIBC and glibc is not None and glibc < (2, 36)
        return Shell.OLD_BASH if old else Shell.BASH
    if files.exists("/bin/busybox") or files.exists("/busybox/sh"):
        return Shell.ASH
    if files.exists("/bin/sh"):
        return Shell.DASH
    return Shell.NONE


NO_SHELL = "(the image has no shell)"


def docker_exec(program: str, error: str) -> str:
    """What `docker run` prints when the kernel refuses execve: runc's "exec PATH: strerror"."""
    return f"exec {program}: {error}"


def shell_not_found(shell: Shell, program: str) -> str:
    """ENOENT from execve of an existing file (missing loader or #! interpreter)."""
    if shell is Shell.BASH:  # bash 5.2 words ENOENT for a file that exists so (measured)
        return f"bash: {program}: cannot execute: required file not found"
    if shell is Shell.OLD_BASH:
        return f"bash: {program}: No such file or directory"
    if shell is Shell.ASH:
        return f"sh: {program}: not found"
    if shell is Shell.DASH:
        return f"sh: 1: {program}: not found"
    return NO_SHELL


def shell_bad_interpreter(shell: Shell, program: str, interpreter: str) -> str:
    """A missing #! interpreter. bash 5.2 words it as for a missing loader (measured); bash before
    5.2 names the interpreter, a carriage return shown as ^M."""
    if shell is Shell.OLD_BASH:
        shown = interpreter.replace("\r", "^M")
        return f"bash: {program}: {shown}: bad interpreter: No such file or directory"
    return shell_not_found(shell, program)


def shell_exec_format(shell: Shell, program: str) -> str:
    """ENOEXEC: bash refuses a binary; ash and dash retry the file as a shell script."""
    if shell in (Shell.BASH, Shell.OLD_BASH):
        return f"bash: {program}: cannot execute binary file: Exec format error"
    if shell is Shell.NONE:
        return NO_SHELL
    return f"(sh runs {program} as a shell script instead, and fails on its first line)"


def env_not_found(env_path: str, program: str, busybox: bool) -> str:
    """What env prints when the program it should run is not on PATH. busybox prints the name raw;
    coreutils quotes it (C locale: '...' with a carriage return as \\r) and, when the name holds
    white space, adds a hint about -S."""
    if busybox:
        return f"env: can't execute '{program}': No such file or directory"
    shown = program.replace("\r", "\\r").replace("\t", "\\t")
    line = f"{env_path}: '{shown}': No such file or directory"
    if any(c in program for c in " \t\r\n\v\f"):
        line += f"\n{env_path}: use -[v]S to pass options in shebang lines"
    return line


def busybox_env(files: TargetFiles) -> bool:
    """Whether env in the image is busybox's: busybox present and no dpkg database (Debian and
    Ubuntu have coreutils' env even when busybox is installed)."""
    return files.exists("/bin/busybox") and not files.exists("/var/lib/dpkg/status")


GLIBC_NOT_FOUND = "cannot open shared object file: No such file or directory"


def glibc_missing_library(program: str, name: str, error: str = GLIBC_NOT_FOUND) -> str:
    return f"{program}: error while loading shared libraries: {name}: {error}"


def glibc_missing_version(program: str, provider: str, version: str, required_by: str) -> str:
    return f"{program}: {provider}: version `{version}' not found (required by {required_by})"


def glibc_undefined_symbol(program: str, obj: str, symbol: str, version: str | None) -> str:
    tail = f", version {version}" if version else ""
    return f"{program}: symbol lookup error: {obj}: undefined symbol: {symbol}{tail}"


def musl_missing_library(name: str, error: str, needed_by: str) -> str:
    return f"Error loading shared library {name}: {error} (needed by {needed_by})"


def musl_bad_relocation(path: str) -> str:
    """A library of another machine (same class): musl maps it, then prints one such line per
    relocation, each ending in the relocation type's number."""
    return f"Error relocating {path}: unsupported relocation type"


def musl_missing_symbol(obj: str, symbol: str) -> str:
    return f"Error relocating {obj}: {symbol}: symbol not found"


# --------------------------------------------------------------------------------------------
# Facts in words
# --------------------------------------------------------------------------------------------


def libc_words(libc: Libc, version: str | None = None) -> str:
    names = {Libc.GLIBC: "glibc", Libc.MUSL: "musl", Libc.UCLIBC: "uClibc", Libc.BIONIC: "Android's bionic",
             Libc.NONE: "no C library", Libc.UNKNOWN: "an unknown C library"}
    text = names[libc]
    return f"{text} {version}" if version and libc not in (Libc.NONE, Libc.UNKNOWN) else text


def image_loaders(target: Target) -> str:
    if not target.loaders:
        return "no dynamic loader at all"
    return "only " + ", ".join(target.loaders)


def highest(versions: Sequence[str], namespace: str) -> str | None:
    """The highest version node in a namespace ("GLIBC_", "GLIBCXX_" ...), by number."""
    best: tuple[tuple[int, ...], str] | None = None
    for v in versions:
        key = version_key(v, namespace)
        if key is not None and (best is None or key > best[0]):
            best = (key, v)
    return best[1] if best else None


def version_sort_key(version: str, namespace: str) -> tuple[int, ...]:
    """Numeric order within a namespace; versions that are not numbers sort first."""
    return version_key(version, namespace) or ()


def namespace_of(version: str) -> str:
    """"GLIBCXX_3.4.30" -> "GLIBCXX_"; a version without "_" is its own namespace."""
    head, sep, _ = version.rpartition("_")
    return head + sep if sep else version


def quote_list(items: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


# --------------------------------------------------------------------------------------------
# Fixes
# --------------------------------------------------------------------------------------------


# soname -> (Alpine package, Debian/Ubuntu package) that installs it.
PACKAGES: dict[str, tuple[str | None, str | None]] = {
    "libgcc_s.so.1": ("libgcc", "libgcc-s1"),
    "libstdc++.so.6": ("libstdc++", "libstdc++6"),
    "libgomp.so.1": ("libgomp", "libgomp1"),
    "libatomic.so.1": ("libatomic", "libatomic1"),
    "libgfortran.so.5": ("libgfortran", "libgfortran5"),
    "libssl.so.3": ("libssl3", "libssl3"),
    "libcrypto.so.3": ("libcrypto3", "libssl3"),
    "libssl.so.1.1": (None, "libssl1.1"),
    "libcrypto.so.1.1": (None, "libssl1.1"),
    "libz.so.1": ("zlib", "zlib1g"),
    "libzstd.so.1": ("zstd-libs", "libzstd1"),
    "liblzma.so.5": ("xz-libs", "liblzma5"),
    "libbz2.so.1": ("libbz2", None),
    "libbz2.so.1.0": (None, "libbz2-1.0"),
    "libffi.so.8": ("libffi", "libffi8"),
    "libexpat.so.1": ("libexpat", "libexpat1"),
    "libsqlite3.so.0": ("sqlite-libs", "libsqlite3-0"),
    "libcurl.so.4": ("libcurl", "libcurl4"),
    "libpcre2-8.so.0": ("pcre2", "libpcre2-8-0"),
    "libuuid.so.1": ("libuuid", "libuuid1"),
    "libcrypt.so.1": (None, "libcrypt1"),
}

GCC_RUNTIME = ("libgcc_s.so.1", "libstdc++.so.6")
RUST_ON_CC = "or run it on gcr.io/distroless/cc-debian12 (glibc with libgcc_s)"

_RUST_ARCH = {"x86_64": "x86_64", "aarch64": "aarch64", "i386": "i686", "riscv64": "riscv64gc"}
_CROSS_GCC = {
    "x86_64": "x86_64-linux-gnu-gcc",
    "aarch64": "aarch64-linux-gnu-gcc",
    "armhf": "arm-linux-gnueabihf-gcc",
    "armel": "arm-linux-gnueabi-gcc",
    "i386": "i686-linux-gnu-gcc",
    "riscv64": "riscv64-linux-gnu-gcc",
    "ppc64le": "powerpc64le-linux-gnu-gcc",
    "s390x": "s390x-linux-gnu-gcc",
}


def rust_target(machine: str, libc: Libc) -> str | None:
    """The Rust target triple for a machine and libc, for the common machines."""
    if machine == "armhf":
        return "armv7-unknown-linux-musleabihf" if libc is Libc.MUSL else "armv7-unknown-linux-gnueabihf"
    arch = _RUST_ARCH.get(machine)
    if arch is None:
        return None
    return f"{arch}-unknown-linux-{'musl' if libc is Libc.MUSL else 'gnu'}"


def package_hint(name: str, target: Target) -> str | None:
    """How to install a well-known library in the target, by its package manager's family."""
    apk, apt = PACKAGES.get(name, (None, None))
    if target.libc is Libc.MUSL and apk:
        return f"install {name} in the image: RUN apk add --no-cache {apk}"
    if target.libc is Libc.GLIBC and apt:
        if target.files.exists("/usr/bin/apt-get"):
            return f"install {name} in the image: RUN apt-get update && apt-get install -y {apt}"
        return f"copy {name} into the image from a Debian build stage (Debian package {apt}), " \
            "or use an image that has it"
    return None


def glibc_image_for(elf: ElfFacts) -> str:
    """The distroless glibc image that carries what the file needs (cc when it needs the GCC runtime)."""
    if any(n in GCC_RUNTIME for n in elf.needed):
        return "gcr.io/distroless/cc-debian12"
    return "gcr.io/distroless/base-debian12"


def static_build_fixes(elf: ElfFacts) -> list[str]:
    """Ways to make this file need no loader at all, for its toolchain."""
    lang = elf.toolchain.language
    if lang is Language.GO:
        return [
            "build without cgo, so Go links statically: CGO_ENABLED=0 go build",
            "if cgo came in only through net or os/user: go build -tags netgo,osusergo "
            "(with -ldflags '-extldflags -static' if other C code remains)",
        ]
    if lang is Language.RUST:
        triple = rust_target(elf.machine, Libc.MUSL) or "<arch>-unknown-linux-musl"
        return [f"build a static binary: rustup target add {triple} && "
                f"cargo build --release --target {triple}"]
    return [
        "link statically: add -static (or -static-pie) to the link flags",
        "or build in a musl stage (FROM alpine, apk add build-base) and link with -static",
    ]


def gcompat_fix(target: Target) -> str:
    return (
        f"on {target.name}: apk add gcompat provides glibc's loader path over musl; only with a caveat: "
        "glibc programs then often fail later with `Error relocating ...: symbol not found`"
    )


def loader_fixes(elf: ElfFacts, target: Target) -> list[str]:
    """The file needs a loader the image lacks."""
    fixes = static_build_fixes(elf)
    if elf.libc is Libc.MUSL:
        fixes.append("run it on an Alpine image (alpine:3.20), which has musl's loader")
        if target.libc is Libc.GLIBC:
            fixes.append("or install Debian's musl package in the image (apt-get install musl), "
                         "which provides /lib/ld-musl-<arch>.so.1")
        return fixes
    if elf.toolchain.language is Language.GO and target.libc is Libc.MUSL:
        fixes.append(f"or build it in golang:<version>-alpine, so cgo links against musl like {target.name}")
    if elf.toolchain.language is Language.RUST:
        fixes.append(RUST_ON_CC)
    else:
        fixes.append(f"or run it on a glibc image: debian:bookworm-slim or {glibc_image_for(elf)}")
    if target.libc is Libc.MUSL and elf.libc is Libc.GLIBC:
        fixes.append(gcompat_fix(target))
    return fixes


def library_fixes(name: str, elf: ElfFacts, target: Target) -> list[str]:
    """A library the loader did not find."""
    fixes: list[str] = []
    hint = package_hint(name, target)
    if hint:
        fixes.append(hint)
    lang = elf.toolchain.language
    if name in GCC_RUNTIME:
        if lang is Language.RUST:
            fixes += [RUST_ON_CC, *static_build_fixes(elf)]
        elif target.libc is not Libc.MUSL:
            fixes.append("link the GCC runtime into the program: -static-libgcc -static-libstdc++")
            fixes.append("or run it on gcr.io/distroless/cc-debian12 (libstdc++ and libgcc_s)")
        else:
            fixes.append("link the GCC runtime into the program: -static-libgcc -static-libstdc++")
    elif lang is Language.GO:
        fixes.append("build without cgo (CGO_ENABLED=0) if the C library is not essential")
    if not fixes:
        fixes.append(f"copy {name} into the image beside the program and set its RUNPATH to $ORIGIN, "
                     "or install the package that provides it")
    return fixes


def version_fixes(version: str, provider_highest: str | None, elf: ElfFacts, target: Target) -> list[str]:
    """A symbol version the image's library is too old for."""
    ns = namespace_of(version)
    fixes: list[str] = []
    if ns == "GLIBC_":
        have = target.libc_version or (provider_highest or "")[len(ns):] or "the image's"
        example = "" if target.name.startswith((".", "/")) else f", e.g. FROM {target.name} AS build"
        fixes.append(f"build in an image whose glibc is <= {have} (the run image's own release{example}), "
                     "so the program asks for no newer symbols")
        newer = _image_with(version, 1, target)
        if newer:
            fixes.append(f"or run it on a newer image: {newer}")
        if elf.toolchain.language is Language.GO:
            fixes.append("or build without cgo (CGO_ENABLED=0): no glibc needed at all")
        elif elf.toolchain.language is Language.RUST:
            triple = rust_target(elf.machine, Libc.MUSL)
            if triple:
                fixes.append(f"or build a static musl binary: cargo build --release --target {triple}")
    elif ns in ("GLIBCXX_", "CXXABI_", "GCC_"):
        fixes.append(f"build with a GCC whose runtime is no newer than the image's ({provider_highest}), "
                     "or link it in: -static-libstdc++ -static-libgcc")
        newer = _image_with(version, 2, target) if ns == "GLIBCXX_" else None
        if newer:
            fixes.append(f"or run it on a newer image: {newer}")
    else:
        fixes.append("install the library version the program was built against, or rebuild it "
                     "against the image's version")
    return fixes


def _image_with(version: str, column: int, target: Target) -> str | None:
    """The built-in image with the oldest glibc that has ``version`` (column 1: a GLIBC_ version,
    2: a GLIBCXX_ node of its libstdc++), one of the target's own distribution first (bullseye ->
    bookworm rather than ubuntu). The facts come from the profiles, with their sources."""
    ns = namespace_of(version)
    need = version_key(version, ns)
    if need is None:
        return None
    family = target.name.split(":", 1)[0]
    rows = sorted(_glibc_images(target.machine), key=lambda row: (row[0].split(":", 1)[0] != family, row[1]))
    for name, glibc, glibcxx in rows:
        have = glibc if column == 1 else glibcxx
        if have is not None and have >= need:
            return name
    return None


def _glibc_images(machine: str) -> list[tuple[str, tuple[int, ...], tuple[int, ...] | None]]:
    """(name, glibc release, highest GLIBCXX node) of every built-in glibc image for ``machine``."""
    from linkcheck.image.target import builtin_targets  # package data, parsed once per process

    rows = []
    for t in builtin_targets(machine):
        glibc = version_key("GLIBC_" + (t.libc_version or ""), "GLIBC_")
        if t.libc is not Libc.GLIBC or glibc is None:
            continue
        glibcxx = None
        for d in t.search_dirs:
            lib = t.files.library(posixpath.join(d.path, "libstdc++.so.6"))
            if lib is not None:
                keys = [k for v in lib.version_definitions if (k := version_key(v, "GLIBCXX_")) is not None]
                glibcxx = max(keys, default=None)
                break
        rows.append((t.name, glibc, glibcxx))
    return rows


def arch_fixes(elf: ElfFacts, target: Target) -> list[str]:
    """The file is for another CPU."""
    lang = elf.toolchain.language
    arch, machine = target.docker_arch, target.machine
    fixes: list[str] = []
    if lang is Language.GO:
        goarm = " GOARM=7" if machine == "armhf" else ""
        fixes.append(f"cross-compile for the image: GOOS=linux GOARCH={arch}{goarm} go build")
    elif lang is Language.RUST:
        triple = rust_target(machine, elf.libc if elf.libc is Libc.MUSL else Libc.GLIBC)
        if triple:
            fixes.append(f"cross-compile for the image: cargo build --release --target {triple}")
    else:
        gcc = _CROSS_GCC.get(machine)
        if gcc:
            fixes.append(f"cross-compile for the image with a {machine} compiler ({gcc})")
    fixes.append(f"build the image for its platform: docker buildx build --platform linux/{arch}")
    fixes.append(f"or run an image for the file's platform: --platform linux/{elf.docker_arch} "
                 "(on this host it runs under emulation)")
    return fixes


def crlf_fixes(name: str) -> list[str]:
    return [
        f"strip the carriage returns: sed -i 's/\\r$//' {name}",
        "keep shell scripts LF in git: add `*.sh text eol=lf` to .gitattributes",
    ]


def script_interpreter_fixes(interpreter: str, target: Target) -> list[str]:
    prog = posixpath.basename(interpreter)
    fixes: list[str] = []
    if prog != "sh" and target.files.exists("/bin/sh"):
        fixes.append(f"if the script needs no {prog} features, start it with #!/bin/sh")
    if target.libc is Libc.MUSL:
        fixes.append(f"install it in the image: RUN apk add --no-cache {prog}")
    elif target.files.exists("/usr/bin/apt-get"):
        fixes.append(f"install it in the image: RUN apt-get update && apt-get install -y {prog}")
    else:
        fixes.append(f"use a base image that has {interpreter}")
    return fixes
