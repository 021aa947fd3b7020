"""Synthetic facts and targets for tests: ElfFacts, ScriptFacts, Analysis and a Target whose files
live in a dict, so loader rules can be pinned without real binaries."""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Iterable, Mapping
from typing import Any

from linkcheck.model import (
    Analysis,
    ElfFacts,
    ElfType,
    FileFormat,
    FileKind,
    FileView,
    Language,
    Libc,
    LibraryFile,
    Linkage,
    ScriptFacts,
    SearchDir,
    SearchSource,
    SymbolImport,
    Symbols,
    Target,
    Toolchain,
    VersionNeed,
)

GLIBC_LOADER = "/lib64/ld-linux-x86-64.so.2"
MUSL_LOADER = "/lib/ld-musl-x86_64.so.1"
DEBIAN_DEFAULT_DIRS = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib")
MUSL_DIRS = ("/lib", "/usr/local/lib", "/usr/lib")


class DictFiles:
    """A TargetFiles backed by plain collections: libraries by path, plus other files that exist
    (and which of them are executable). A library counts as existing."""

    def __init__(
        self,
        libraries: Iterable[LibraryFile] = (),
        existing: Iterable[str] = (),
        executable: Iterable[str] = (),
        views: Mapping[str, FileView] | None = None,
    ) -> None:
        self.views = dict(views or {})
        self.libraries = {lib.path: lib for lib in libraries}
        self.executable = set(executable)
        self.existing = set(existing) | self.executable | set(self.libraries)

    def exists(self, path: str) -> bool:
        return path in self.existing

    def is_executable(self, path: str) -> bool:
        return path in self.executable

    def view(self, path: str) -> FileView | None:
        """A regular file for each path that exists, with neither size nor bytes known (like a
        profile's); ``views`` given to the constructor say otherwise for their paths."""
        if path in self.views:
            return self.views[path]
        return FileView(FileKind.REGULAR, True) if path in self.existing else None

    def library(self, path: str) -> LibraryFile | None:
        return self.libraries.get(path)


def lib(
    path: str,
    *,
    soname: str | None = None,
    machine: str = "x86_64",
    elf_class: int = 64,
    needed: tuple[str, ...] = (),
    rpath: tuple[str, ...] = (),
    runpath: tuple[str, ...] = (),
    versions: tuple[str, ...] = (),
    exports: frozenset[str] | None = None,
) -> LibraryFile:
    """A library at ``path``; its soname defaults to the file name."""
    return LibraryFile(
        path=path,
        soname=soname if soname is not None else posixpath.basename(path),
        machine=machine,
        elf_class=elf_class,
        needed=needed,
        rpath=rpath,
        runpath=runpath,
        version_definitions=versions,
        exports=exports,
    )


def elf(**overrides: Any) -> ElfFacts:
    """A 64-bit x86-64 glibc PIE executable needing libc.so.6; override any field (``imports`` and
    ``exports`` stand for the symbols' own)."""
    base = ElfFacts(
        machine="x86_64",
        docker_arch="amd64",
        e_machine=62,
        elf_class=64,
        endianness="little",
        osabi=0,
        elf_type=ElfType.DYN,
        pie=True,
        interpreter=GLIBC_LOADER,
        needed=("libc.so.6",),
        soname=None,
        rpath=(),
        runpath=(),
        nodeflib=False,
        version_needs=(VersionNeed("libc.so.6", ("GLIBC_2.2.5",)),),
        version_definitions=(),
        has_section_headers=True,
        libc=Libc.GLIBC,
        linkage=Linkage.GLIBC_DYNAMIC,
        linkage_evidence="PT_INTERP " + GLIBC_LOADER,
        toolchain=Toolchain(Language.C),
        symbols=Symbols.of((SymbolImport("puts", "GLIBC_2.2.5", "libc.so.6", False),)),
    )
    return _replace(base, overrides)


def _replace(base: ElfFacts, overrides: dict[str, Any]) -> ElfFacts:
    """dataclasses.replace, where ``imports`` and ``exports`` replace those of the symbols."""
    if "imports" in overrides or "exports" in overrides:
        overrides["symbols"] = Symbols.of(
            overrides.pop("imports", base.imports), overrides.pop("exports", base.exports)
        )
    return dataclasses.replace(base, **overrides)


def musl_elf(**overrides: Any) -> ElfFacts:
    base = elf(
        interpreter=MUSL_LOADER,
        needed=("libc.musl-x86_64.so.1",),
        version_needs=(),
        imports=(SymbolImport("puts", None, None, False),),
        libc=Libc.MUSL,
        linkage=Linkage.MUSL_DYNAMIC,
        linkage_evidence="PT_INTERP " + MUSL_LOADER,
    )
    return _replace(base, overrides)


def static_elf(**overrides: Any) -> ElfFacts:
    base = elf(
        elf_type=ElfType.EXEC,
        pie=False,
        interpreter=None,
        needed=(),
        version_needs=(),
        imports=(),
        libc=Libc.NONE,
        linkage=Linkage.STATIC,
        linkage_evidence="no PT_INTERP, no PT_DYNAMIC",
    )
    return _replace(base, overrides)


def analysis(facts: ElfFacts, name: str = "hello") -> Analysis:
    return Analysis(path="/build/" + name, format=FileFormat.ELF, description="ELF", size=1000, elf=facts)


def script_analysis(
    interpreter: str, *, program: str | None = None, crlf: bool = False, name: str = "run.sh"
) -> Analysis:
    facts = ScriptFacts(
        interpreter=interpreter,
        argument=program,
        program=program,
        crlf=crlf,
        truncated=False,
        line="#!" + interpreter + (" " + program if program else ""),
    )
    return Analysis(path="/build/" + name, format=FileFormat.SCRIPT, description="script", size=50,
                    script=facts)


def glibc_target(
    libraries: Iterable[LibraryFile] = (),
    *,
    existing: Iterable[str] = (),
    executable: Iterable[str] = (),
    conf_dirs: tuple[str, ...] = (),
    default_dirs: tuple[str, ...] = DEBIAN_DEFAULT_DIRS,
    loaders: tuple[str, ...] = (GLIBC_LOADER,),
    libc_version: str | None = "2.36",
    name: str = "test-glibc",
    machine: str = "x86_64",
    path_env: tuple[str, ...] = ("/usr/local/bin", "/usr/bin", "/bin"),
) -> Target:
    conf = "ld.so.conf (/etc/ld.so.conf.d/test.conf)"
    dirs = tuple(SearchDir(d, conf, SearchSource.LD_SO_CONF) for d in conf_dirs)
    dirs += tuple(SearchDir(d, "default", SearchSource.DEFAULT) for d in default_dirs)
    return Target(
        name=name,
        machine=machine,
        docker_arch="amd64" if machine == "x86_64" else "arm64",
        libc=Libc.GLIBC,
        libc_version=libc_version,
        loaders=loaders,
        search_dirs=dirs,
        path_env=path_env,
        files=DictFiles(libraries, set(existing) | set(loaders), set(executable) | set(loaders)),
    )


def musl_target(
    libraries: Iterable[LibraryFile] = (),
    *,
    existing: Iterable[str] = (),
    executable: Iterable[str] = (),
    name: str = "test-musl",
    loaders: tuple[str, ...] = (MUSL_LOADER,),
) -> Target:
    return Target(
        name=name,
        machine="x86_64",
        docker_arch="amd64",
        libc=Libc.MUSL,
        libc_version="1.2.5",
        loaders=loaders,
        search_dirs=tuple(SearchDir(d, "musl built-in", SearchSource.DEFAULT) for d in MUSL_DIRS),
        path_env=("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"),
        files=DictFiles(libraries, set(existing) | set(loaders), set(executable) | set(loaders)),
    )


def empty_target(
    name: str = "scratch", *, existing: Iterable[str] = (), executable: Iterable[str] = ()
) -> Target:
    """An image with no loader and no libc (scratch, distroless/static)."""
    return Target(
        name=name,
        machine="x86_64",
        docker_arch="amd64",
        libc=Libc.NONE,
        libc_version=None,
        loaders=(),
        search_dirs=(),
        path_env=("/usr/local/bin", "/usr/bin", "/bin"),
        files=DictFiles((), existing, executable),
    )
