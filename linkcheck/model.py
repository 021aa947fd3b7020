"""The facts linkcheck reports, as frozen dataclasses and enums.

Facts about a file (``Analysis``) never depend on a target. A ``Verdict`` is a pure function of a
file's facts and a ``Target``. ``to_dict()`` gives the stable JSON shape documented in README and
pinned by ``linkcheck/schema.json``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Protocol

SCHEMA_VERSION = 1


class FileFormat(str, enum.Enum):
    ELF = "elf"
    SCRIPT = "script"  # starts with "#!"
    JAVA_CLASS = "java-class"
    JAR = "jar"
    CLASS_DIR = "class-dir"  # a directory of loose .class files, run as `java -cp DIR MAIN`
    WHEEL = "wheel"
    VENV = "venv"  # a Python virtual environment directory (pyvenv.cfg)
    MACH_O = "mach-o"
    PE = "pe"  # Windows executable or DLL
    TEXT = "text"  # text without a shebang (the kernel refuses it: exec format error)
    DATA = "data"  # anything else
    EMPTY = "empty"


class ElfType(str, enum.Enum):
    EXEC = "exec"  # ET_EXEC: fixed-address executable
    DYN = "dyn"  # ET_DYN: shared object, PIE or static-pie executable
    REL = "rel"  # ET_REL: object file, not runnable
    CORE = "core"
    OTHER = "other"


class Libc(str, enum.Enum):
    GLIBC = "glibc"
    MUSL = "musl"
    UCLIBC = "uclibc"
    BIONIC = "bionic"
    NONE = "none"  # statically linked, or needs no libc at all
    UNKNOWN = "unknown"


class Linkage(str, enum.Enum):
    STATIC = "static"  # no PT_INTERP, no PT_DYNAMIC needs: runs anywhere with the right CPU
    STATIC_PIE = "static-pie"  # ET_DYN, self-relocating, no PT_INTERP: also runs anywhere
    GLIBC_DYNAMIC = "glibc-dynamic"
    MUSL_DYNAMIC = "musl-dynamic"
    UCLIBC_DYNAMIC = "uclibc-dynamic"
    BIONIC_DYNAMIC = "bionic-dynamic"
    UNKNOWN_DYNAMIC = "unknown-dynamic"  # dynamic, but neither loader nor libraries name a known libc
    NO_LIBC = "no-libc"  # a shared library (or dynamic object) that depends on no libc
    NOT_LINUX = "not-linux"  # another system's program (FreeBSD, NetBSD, OpenBSD, Solaris ...)
    OBJECT = "object"  # ET_REL / ET_CORE: not something the kernel runs
    DEBUG_INFO = "debug-info"  # separate debug information (objcopy --only-keep-debug): its code is not in it
    SCRIPT = "script"
    NOT_APPLICABLE = "not-applicable"  # not a program linkcheck can classify (PE, Mach-O, data ...)


class Language(str, enum.Enum):
    C = "c"
    CXX = "c++"
    GO = "go"
    RUST = "rust"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class VersionNeed:
    """Symbol versions a file needs from one library (one Verneed entry)."""

    library: str  # the file name in the Verneed entry, e.g. "libc.so.6"
    versions: tuple[str, ...]  # e.g. ("GLIBC_2.2.5", "GLIBC_2.34"), in file order


@dataclass(frozen=True, slots=True)
class SymbolImport:
    """An undefined dynamic symbol: what the file expects some loaded library to provide."""

    name: str
    version: str | None  # "GLIBC_2.34", or None when unversioned
    library: str | None  # the library the version need names (from .gnu.version_r), if any
    weak: bool  # a weak undefined symbol may stay unresolved without failing


@dataclass(frozen=True, slots=True)
class SymbolExport:
    """A defined dynamic symbol (what a library offers)."""

    name: str
    version: str | None  # the version node it is defined in, if the library versions symbols
    hidden: bool = False  # a non-default version ("name@VER", not "name@@VER"): musl ignores it
    ifunc: bool = False  # STT_GNU_IFUNC: glibc calls it to get the address; musl ignores the definition


@dataclass(frozen=True, slots=True)
class DecodedSymbols:
    """What decoding a dynamic symbol table (and the relocations naming it) gives."""

    imports: tuple[SymbolImport, ...] = ()
    exports: tuple[SymbolExport, ...] = ()
    # Imports referenced by PLT relocations (DT_JMPREL) only: with lazy binding glibc resolves
    # them at their first call, not at start. None when the file's relocations were not read.
    lazy_imports: frozenset[str] | None = None
    # The file has IRELATIVE relocations (in this architecture's numbering); musl's loader refuses them.
    irelative: bool = False
    warnings: tuple[str, ...] = ()  # what could not be read in the symbol table or relocations
    # Data objects an executable copies from a library (COPY relocations): defined in the file, yet the
    # loader must find each in a loaded library at start, whatever the binding mode.
    copied: frozenset[str] = frozenset()
    # Its own IFUNC or non-default-version definitions that its relocations name: glibc binds them to the
    # file itself, musl's lookup skips such definitions and needs them from elsewhere.
    self_refs: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ExportNames:
    """A file's exports as a loader's lookup matches them (``LibraryFile.exports``): "name" for each
    default-version definition, "name@VERSION" for each versioned one; the IFUNC definitions' names."""

    names: frozenset[str] = frozenset()
    ifuncs: frozenset[str] = frozenset()


class SymbolSource(Protocol):
    """Something that decodes a symbol table when first asked (the ELF reader's view of the file)."""

    def decode(self, exports: bool = True) -> DecodedSymbols:
        """The symbols; without ``exports``, everything but the exports."""
        ...

    def export_names(self) -> ExportNames: ...


class Symbols:
    """The dynamic symbols of an ELF file, decoded only when first asked for.

    The header-level facts (ElfFacts' other fields) are read with the file; the symbol table and
    relocations cost far more and most callers (a tree scan without target) need none of them.
    Reading ``exports`` or ``warnings`` decodes them all once; ``imports``, ``lazy_imports``,
    ``irelative``, ``copied`` and ``self_refs`` (what checking the file reads) decode all but the
    exports, which are most of a library's table; ``export_names()`` (what checking against the file
    reads) decodes the exports' names only. ``decoded`` says whether any of that happened, so a caller
    can check it never paid for it. ``Symbols.omitted()`` stands for a table deliberately not carried
    (scan results sent between processes): it reads as empty, with ``omitted`` set. Two Symbols are
    equal when their decoded contents are."""

    __slots__ = ("_source", "_decoded", "_linking", "_names", "omitted")

    def __init__(self, decoded: DecodedSymbols | None = None, source: SymbolSource | None = None,
                 omitted: bool = False) -> None:
        self._source = source
        self._decoded = decoded if decoded is not None or source is not None else DecodedSymbols()
        self._linking: DecodedSymbols | None = None  # all but the exports
        self._names: ExportNames | None = None
        self.omitted = omitted

    @classmethod
    def of(cls, imports: tuple[SymbolImport, ...] = (), exports: tuple[SymbolExport, ...] = (),
           **more: Any) -> Symbols:
        """Already decoded symbols (facts built by hand, tests)."""
        return cls(DecodedSymbols(imports, exports, **more))

    @classmethod
    def omitted_table(cls) -> Symbols:
        return cls(omitted=True)

    @property
    def decoded(self) -> bool:
        return self._decoded is not None or self._linking is not None or self._names is not None

    def get(self) -> DecodedSymbols:
        d = self._decoded
        if d is None:
            assert self._source is not None
            d = self._decoded = self._source.decode()
            self._source = None
            self._linking = None
        return d

    def _for_linking(self) -> DecodedSymbols:
        """The decoded symbols, or all but the exports when those were not decoded."""
        d = self._decoded or self._linking
        if d is None:
            assert self._source is not None
            d = self._linking = self._source.decode(exports=False)
        return d

    def export_names(self) -> ExportNames:
        """The exports' names as a loader's lookup matches them."""
        names = self._names
        if names is None:
            if self._decoded is not None or self._source is None:
                exports = self.get().exports
                names = ExportNames(
                    frozenset({e.name for e in exports if not e.hidden}
                              | {f"{e.name}@{e.version}" for e in exports if e.version is not None}),
                    frozenset(e.name for e in exports if e.ifunc))
            else:
                names = self._source.export_names()
            self._names = names
        return names

    @property
    def imports(self) -> tuple[SymbolImport, ...]:
        return self._for_linking().imports

    @property
    def exports(self) -> tuple[SymbolExport, ...]:
        return self.get().exports

    @property
    def lazy_imports(self) -> frozenset[str] | None:
        return self._for_linking().lazy_imports

    @property
    def irelative(self) -> bool:
        return self._for_linking().irelative

    @property
    def copied(self) -> frozenset[str]:
        return self._for_linking().copied

    @property
    def self_refs(self) -> frozenset[str]:
        return self._for_linking().self_refs

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.get().warnings

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Symbols):
            return NotImplemented
        return self.omitted == other.omitted and self.get() == other.get()

    def __hash__(self) -> int:
        return hash(self.get())

    def __repr__(self) -> str:
        if self.omitted:
            return "Symbols(omitted)"
        if self._decoded is None:
            return "Symbols(not decoded)"
        return f"Symbols({len(self._decoded.imports)} imports, {len(self._decoded.exports)} exports)"

    def __getstate__(self) -> tuple[Any, ...]:
        return (self.get(), self.omitted)  # decoded before pickling: the source holds the file's bytes

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self._decoded, self.omitted = state
        self._source = None
        self._linking = None
        self._names = None


@dataclass(frozen=True, slots=True)
class GoBuildInfo:
    """What ``go version -m`` prints, read from the binary's .go.buildinfo blob."""

    go_version: str  # "go1.19.8"
    main_module: str | None
    settings: tuple[tuple[str, str], ...]  # ("CGO_ENABLED", "0"), ("-tags", "netgo"), ("-ldflags", "...")

    def setting(self, key: str) -> str | None:
        for k, v in self.settings:
            if k == key:
                return v
        return None

    @property
    def cgo_enabled(self) -> bool | None:
        value = self.setting("CGO_ENABLED")
        return None if value is None else value == "1"

    @property
    def tags(self) -> tuple[str, ...]:
        value = self.setting("-tags")
        return tuple(t for t in (value or "").split(",") if t)


@dataclass(frozen=True, slots=True)
class Toolchain:
    """The language a program was built from, and what tells it."""

    language: Language
    evidence: tuple[str, ...] = ()  # e.g. ("section .go.buildinfo",), ("needs libstdc++.so.6",)
    go: GoBuildInfo | None = None


@dataclass(frozen=True, slots=True)
class ElfFacts:
    """Everything linkcheck reads from one ELF file. Nothing here depends on a target."""

    machine: str  # uname -m style: x86_64, aarch64, i386, armhf, armel, riscv64, ppc64le, ppc64, s390x ...
    docker_arch: str  # Docker/OCI platform architecture: amd64, arm64, 386, arm, riscv64, ppc64le, s390x ...
    e_machine: int
    elf_class: int  # 32 or 64
    endianness: str  # "little" or "big"
    osabi: int
    elf_type: ElfType
    pie: bool
    interpreter: str | None
    needed: tuple[str, ...]
    soname: str | None
    rpath: tuple[str, ...]  # DT_RPATH split on ":"
    runpath: tuple[str, ...]  # DT_RUNPATH split on ":"
    nodeflib: bool  # DF_1_NODEFLIB: the loader skips its default directories for this object's needs
    version_needs: tuple[VersionNeed, ...]
    version_definitions: tuple[str, ...]  # Verdef names, the base (soname) entry excluded
    has_section_headers: bool
    libc: Libc
    linkage: Linkage
    linkage_evidence: str  # which evidence decided, in words: "PT_INTERP /lib/ld-musl-x86_64.so.1"
    toolchain: Toolchain
    warnings: tuple[str, ...] = ()  # header-level facts that could not be read (symbols have their own)
    # DF_BIND_NOW in DT_FLAGS, DF_1_NOW in DT_FLAGS_1 or DT_BIND_NOW: every symbol is bound at start.
    bind_now: bool = False
    symbols: Symbols = field(default_factory=Symbols)  # decoded on first use; see Symbols
    build_id: str | None = None  # NT_GNU_BUILD_ID in hex; read for separate debug-info files only

    @property
    def imports(self) -> tuple[SymbolImport, ...]:
        """The undefined dynamic symbols (decodes the symbol table on first use)."""
        return self.symbols.imports

    @property
    def exports(self) -> tuple[SymbolExport, ...]:
        """The defined dynamic symbols (decodes the symbol table on first use)."""
        return self.symbols.exports

    @property
    def min_glibc(self) -> str | None:
        """The highest GLIBC_x.y version needed from any library, or None."""
        best: tuple[int, ...] | None = None
        text = None
        for need in self.version_needs:
            for name in need.versions:
                key = glibc_version_key(name)
                if key is not None and (best is None or key > best):
                    best, text = key, name[len("GLIBC_") :]
        return text

    def symbols_needing(self, version: str) -> tuple[str, ...]:
        return tuple(s.name for s in self.imports if s.version == version)


def glibc_version_key(name: str) -> tuple[int, ...] | None:
    """"GLIBC_2.34" -> (2, 34); None for GLIBC_PRIVATE and other namespaces."""
    return version_key(name, "GLIBC_")


def version_key(name: str, prefix: str) -> tuple[int, ...] | None:
    """Numeric key of a symbol version in a namespace: ("GLIBCXX_3.4.30", "GLIBCXX_") -> (3, 4, 30)."""
    if not name.startswith(prefix):
        return None
    parts = name[len(prefix) :].split(".")
    if not parts or not all(p.isdigit() and len(p) < 10 for p in parts):
        return None
    return tuple(int(p) for p in parts)


@dataclass(frozen=True, slots=True)
class ScriptFacts:
    """A file starting with "#!", parsed as the kernel does (binfmt_script)."""

    interpreter: str  # the path the kernel will exec, exactly as written (may end in "\r")
    argument: str | None  # the single optional argument, as the kernel passes it
    program: str | None  # for "#!/usr/bin/env X": X, the program env looks up on PATH
    crlf: bool  # the shebang line ends in "\r\n": the kernel looks for "/bin/sh\r"
    truncated: bool  # the line is longer than the kernel reads (256 bytes since Linux 5.1)
    line: str  # the shebang line, decoded as names are ("surrogateescape": lossless)


class ExecError(str, enum.Enum):
    """The errno execve fails with when the kernel refuses a file, and how strerror words it (what
    `docker run` prints after "exec PATH: ")."""

    ENOEXEC = "ENOEXEC"
    EIO = "EIO"
    EACCES = "EACCES"
    ELIBBAD = "ELIBBAD"
    E2BIG = "E2BIG"

    @property
    def strerror(self) -> str:
        return _STRERROR[self]


_STRERROR = {
    ExecError.ENOEXEC: "exec format error",
    ExecError.EIO: "input/output error",
    ExecError.EACCES: "permission denied",
    ExecError.ELIBBAD: "accessing a corrupted shared library",
    ExecError.E2BIG: "argument list too long",
}


@dataclass(frozen=True, slots=True)
class KernelRefusal:
    """The kernel refuses to start the file, whatever the image holds (one of fs/binfmt_elf.c's
    checks on the file's own bytes)."""

    error: ExecError
    reason: str  # one line: "PT_INTERP does not end in a NUL byte"
    rule: str  # the kernel's check it models, cited: "fs/binfmt_elf.c load_elf_phdrs: size > 65536"


@dataclass(frozen=True, slots=True)
class ClassVersionGroup:
    """The classes of a jar (or directory) that share one class-file major version."""

    major: int
    count: int
    examples: tuple[str, ...]  # up to a few class names, as Java writes them ("com.example.Main")


@dataclass(frozen=True, slots=True)
class JavaFacts:
    """What a class file or jar needs of a Java runtime: the class-file versions, and the main class."""

    class_major: int  # the highest class-file major version seen (52 = Java 8, 61 = 17, 65 = 21)
    java_release: int  # the Java release that class version needs
    classes_read: int  # for a jar: how many classes were read
    main_class: str | None = None  # the jar's Main-Class; for a class file, the name `java` runs it by
    main_class_major: int | None = None  # the main class's own version; None when it is not there
    main_class_minor: int = 0  # 65535: compiled with --enable-preview
    versions: tuple[ClassVersionGroup, ...] = ()  # every class read, grouped by version, lowest first
    has_manifest: bool = False
    multi_release: bool = False  # "Multi-Release: true": META-INF/versions/N/ load only on Java >= N
    all_read: bool = True  # False when the jar holds more classes than linkcheck reads


@dataclass(frozen=True, slots=True)
class Analysis:
    """The result of ``linkcheck.analyze(path)``."""

    path: str
    format: FileFormat
    description: str  # one line for people: "ELF 64-bit x86_64 PIE executable, glibc-dynamic"
    size: int
    elf: ElfFacts | None = None  # None for an ELF file too broken to read (then kernel_refusal says why)
    script: ScriptFacts | None = None
    java: JavaFacts | None = None
    kernel_refusal: KernelRefusal | None = None  # an ELF file execve refuses on any image

    @property
    def machine(self) -> str | None:
        return self.elf.machine if self.elf else None

    @property
    def linkage(self) -> Linkage:
        if self.elf:
            return self.elf.linkage
        if self.script:
            return Linkage.SCRIPT
        return Linkage.NOT_APPLICABLE

    def to_dict(self) -> dict[str, Any]:
        e = self.elf
        out: dict[str, Any] = {
            "path": self.path,
            "format": self.format.value,
            "description": self.description,
            "size": self.size,
            "machine": e.machine if e else None,
            "docker_arch": e.docker_arch if e else None,
            "elf_class": e.elf_class if e else None,
            "endianness": e.endianness if e else None,
            "elf_type": e.elf_type.value if e else None,
            "pie": e.pie if e else None,
            "linkage": self.linkage.value,
            "libc": e.libc.value if e else None,
            "linkage_evidence": e.linkage_evidence if e else None,
            "interpreter": e.interpreter if e else None,
            "needed": list(e.needed) if e else [],
            "soname": e.soname if e else None,
            "rpath": list(e.rpath) if e else [],
            "runpath": list(e.runpath) if e else [],
            "version_needs": {n.library: list(n.versions) for n in e.version_needs} if e else {},
            "versioned_symbols": _versioned_symbols(e) if e else {},
            "min_glibc": e.min_glibc if e else None,
            "toolchain": _toolchain_dict(e.toolchain) if e else None,
            "warnings": list(e.warnings) + list(e.symbols.warnings) if e else [],
            "script": _script_dict(self.script) if self.script else None,
            "java": _java_dict(self.java) if self.java else None,
            "kernel_refusal": _refusal_dict(self.kernel_refusal) if self.kernel_refusal else None,
        }
        return out


def _versioned_symbols(e: ElfFacts) -> dict[str, list[str]]:
    """version -> the imported symbols that need it, e.g. {"GLIBC_2.34": ["__libc_start_main"]}."""
    out: dict[str, list[str]] = {}
    for s in e.imports:
        if s.version is not None:
            out.setdefault(s.version, []).append(s.name)
    return out


def _toolchain_dict(t: Toolchain) -> dict[str, Any]:
    go = None
    if t.go is not None:
        go = {
            "go_version": t.go.go_version,
            "main_module": t.go.main_module,
            "cgo_enabled": t.go.cgo_enabled,
            "tags": list(t.go.tags),
            "settings": {k: v for k, v in t.go.settings},
        }
    return {"language": t.language.value, "evidence": list(t.evidence), "go": go}


def _script_dict(s: ScriptFacts) -> dict[str, Any]:
    return {
        "interpreter": s.interpreter,
        "argument": s.argument,
        "program": s.program,
        "crlf": s.crlf,
        "truncated": s.truncated,
        "line": s.line,
    }


def _refusal_dict(r: KernelRefusal) -> dict[str, Any]:
    return {"errno": r.error.value, "message": r.error.strerror, "reason": r.reason, "rule": r.rule}


def _java_dict(j: JavaFacts) -> dict[str, Any]:
    return {
        "class_major": j.class_major,
        "java_release": j.java_release,
        "classes_read": j.classes_read,
        "main_class": j.main_class,
        "main_class_major": j.main_class_major,
        "versions": [{"major": g.major, "count": g.count, "examples": list(g.examples)} for g in j.versions],
        "multi_release": j.multi_release,
    }


# --------------------------------------------------------------------------------------------
# Targets: what an image offers. Built from a profile data file or read from a root filesystem.
# --------------------------------------------------------------------------------------------


class SourceHow(str, enum.Enum):
    """How a fact about an image is known."""

    MEASURED = "measured"  # read from the real image by scripts/measure_rootfs.py
    DOCUMENTED = "documented"
    INFERRED = "inferred"
    READ_FROM_ROOT = "read from root"  # read now, from the root filesystem or archive given
    READ_FROM_REGISTRY = "read from registry"  # pulled now, by reference
    READ_FROM_CACHE = "read from cache"  # pulled before, read from the local cache by digest

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Source:
    """Where a fact about an image came from, and how sure it is."""

    fact: str  # "libc_version", "loaders", "libraries", ...
    how: SourceHow
    where: str  # the file, package list, URL-less description, or root path it was read from
    date: str | None = None  # ISO date of the measurement or document


@dataclass(frozen=True, slots=True)
class LibraryFile:
    """A shared library present in a target, as the loader would find it."""

    path: str  # absolute path inside the target (as searched, before symlinks)
    soname: str | None
    machine: str
    elf_class: int
    needed: tuple[str, ...] = ()
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    version_definitions: tuple[str, ...] = ()
    exports: frozenset[str] | None = None  # "name" and "name@VERSION"; None when not known (profiles)
    ifuncs: frozenset[str] = frozenset()  # exports defined as STT_GNU_IFUNC (musl's lookup skips them)
    # Its own IFUNC or non-default-version definitions that its relocations name: a loader that ignores
    # such definitions (musl) must find them elsewhere.
    self_refs: frozenset[str] = frozenset()
    irelative: bool = False  # it has IRELATIVE relocations (musl refuses the file)
    # What it needs of other objects' versions (glibc checks every loaded object's, not only the program's),
    # and its imports that need one, as "name@VERSION". Empty when not known (profiles).
    version_needs: tuple[VersionNeed, ...] = ()
    versioned_imports: frozenset[str] = frozenset()


class FileKind(str, enum.Enum):
    """What a path of a target is, once its symlinks are followed."""

    REGULAR = "regular"
    DIRECTORY = "directory"
    OTHER = "other"  # FIFO, socket, device: execve's open refuses all three (EACCES)


@dataclass(frozen=True, slots=True)
class FileView:
    """A path of a target as execve's open and first read see it (the interpreter of a program)."""

    kind: FileKind
    executable: bool  # some execute bit is set (without one, exec is refused to every user, root too)
    size: int | None = None  # None when not known (a profile lists files, not their sizes)
    # A regular file's first 4 KiB (fewer if shorter: the ELF header and, as linkers lay them out, the
    # program headers); None when not known.
    head: bytes | None = None


class TargetFiles(Protocol):
    """Read-only view of a target's files. Paths are absolute inside the target; symlinks are
    resolved inside it (never outside)."""

    def exists(self, path: str) -> bool:
        """A regular file is at ``path``."""
        ...

    def is_executable(self, path: str) -> bool: ...

    def view(self, path: str) -> FileView | None:
        """What is at ``path`` (any kind of file), or None when nothing is (or a symlink loops)."""
        ...

    def library(self, path: str) -> LibraryFile | None:
        """The ELF shared object at ``path``, or None when there is no readable ELF file there."""
        ...


@dataclass(frozen=True, slots=True)
class SearchDir:
    """A directory the target's loader searches by default or by its configuration."""

    path: str
    source: str  # for people: "ld.so.conf (/etc/ld.so.conf.d/x86_64-linux-gnu.conf)", "musl built-in"
    kind: SearchSource  # LD_SO_CONF (ld.so.conf, musl's path file) or DEFAULT (the loader's built-in list)


class RuntimeKind(str, enum.Enum):
    JAVA = "java"
    PYTHON = "python"
    NODE = "node"


@dataclass(frozen=True, slots=True)
class Runtime:
    """A language runtime an image has: what its command on PATH (``java``) starts."""

    kind: RuntimeKind
    version: str  # as the runtime reports it: "17.0.20+8"
    release: int  # Java: the feature release (17); Node: the major (20); Python: the 3.x minor (12)
    command: str  # the path PATH leads to for the command: "/opt/java/openjdk/bin/java"
    home: str | None = None  # JAVA_HOME; Node's install prefix
    vendor: str | None = None  # "Eclipse Adoptium", "Debian" ...
    source: str = ""  # where these facts come from
    abi: int | None = None  # Node: NODE_MODULE_VERSION (115 for Node 20), which non-N-API addons must match

    @property
    def max_class_major(self) -> int:
        """The newest class-file major version this Java loads (release 17 -> 61)."""
        return self.release + 44


@dataclass(frozen=True, slots=True)
class CatalogueImage:
    """An image a fix may suggest ("or run it on a newer image: ..."), with the facts that decide
    whether it fits. Built from the built-in profiles (``linkcheck.image.target.builtin_catalogue``)."""

    name: str
    machine: str
    libc: Libc
    libc_version: str | None
    glibcxx: str | None = None  # the highest GLIBCXX_ version node of its libstdc++, when it has one


class EnvOrigin(str, enum.Enum):
    """Who set a variable of the container's environment."""

    IMAGE_CONFIG = "image config"  # the image config's Env (Dockerfile ENV)
    OPTION = "--env"  # the user, as `docker run -e` would

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class EnvVar:
    """A variable of the container's environment, and who set it."""

    name: str
    value: str
    origin: EnvOrigin


@dataclass(frozen=True)
class Target:
    """An image (built-in profile, root filesystem, archive or registry image) files are judged against."""

    name: str  # "alpine:3.20", or the directory / archive path
    machine: str  # uname -m style, as ElfFacts.machine
    docker_arch: str
    libc: Libc
    libc_version: str | None
    loaders: tuple[str, ...]  # program interpreter paths that exist in the image
    search_dirs: tuple[SearchDir, ...]  # the loader's directories after RPATH/RUNPATH, in order
    path_env: tuple[str, ...]  # PATH of the image's default environment, for "#!/usr/bin/env X"
    files: TargetFiles = field(compare=False, repr=False)
    size_bytes: int | None = None
    description: str = ""
    sources: tuple[Source, ...] = ()
    aliases: tuple[str, ...] = ()
    runtimes: tuple[Runtime, ...] = ()  # language runtimes on its PATH (a JRE ...)
    # Which of the paths programs read after they start (CA bundles, zoneinfo, /etc/passwd, /tmp ...,
    # see linkcheck.image.probes) the image has; None when not known (its source says how it is known).
    runtime_files: frozenset[str] | None = None
    # glibc-hwcaps subdirectories present in the image (DIR/glibc-hwcaps/x86-64-v3 ...) of its search
    # directories, in glibc's priority order: glibc >= 2.33 searches them before DIR, each only on CPUs
    # that support its level.
    hwcaps_dirs: tuple[str, ...] = ()

    def runtime(self, kind: RuntimeKind) -> Runtime | None:
        return next((r for r in self.runtimes if r.kind is kind), None)

    # The container's environment beyond Docker's default PATH: the image config's Env, then --env
    # (a later entry of the same name wins, as in `docker run -e`). PATH is also in ``path_env``.
    env: tuple[EnvVar, ...] = ()

    def getenv(self, name: str) -> EnvVar | None:
        """The variable as the program would see it, or None when it is unset."""
        for var in reversed(self.env):
            if var.name == name:
                return var
        return None


# --------------------------------------------------------------------------------------------
# Findings that are not verdicts
# --------------------------------------------------------------------------------------------


class Severity(str, enum.Enum):
    ERROR = "error"  # fails the check: e.g. a wheel breaks its own promise, or will not load where it says
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class Note:
    """A finding about a file that is not a verdict (a wheel's tags against its modules)."""

    severity: Severity
    message: str  # one line

    def __str__(self) -> str:
        return f"{self.severity.value}: {self.message}"


# --------------------------------------------------------------------------------------------
# Verdicts
# --------------------------------------------------------------------------------------------


class Outcome(str, enum.Enum):
    """What happens when the file is started on the target, in the order the kernel and loader
    would hit them: the first problem decides the verdict's outcome."""

    RUNS = "runs"
    NOT_EXECUTABLE = "not-executable"  # not a program format the kernel runs (text without #!, PE ...)
    WRONG_ARCHITECTURE = "wrong-architecture"  # exec format error
    # A static program for another system (FreeBSD, NetBSD, OpenBSD, Solaris ...): Linux ignores EI_OSABI
    # and notes, so execve starts it, and its system calls, numbered for its own kernel, do other things.
    NOT_LINUX = "not-linux"
    MISSING_INTERPRETER = "missing-interpreter"  # PT_INTERP or #! interpreter absent: ENOENT
    MISSING_LIBRARY = "missing-library"
    MISSING_SYMBOL_VERSION = "missing-symbol-version"
    MISSING_SYMBOL = "missing-symbol"
    UNSUPPORTED_RELOCATION = "unsupported-relocation"  # musl refuses IRELATIVE: "unsupported relocation type"
    # The image's environment is more than execve passes (E2BIG): no process of the container starts.
    ENVIRONMENT_TOO_LARGE = "environment-too-large"
    # It starts: glibc binds functions lazily, so a missing function fails only at its first call
    # ("symbol lookup error: ... undefined symbol: X"); not a success, counted as a failure (status 1).
    STARTS_THEN_FAILS = "starts-then-fails"
    JAVA_TOO_NEW = "java-too-new"  # class files newer than the image's Java
    NODE_MODULE_VERSION = "node-module-version"  # a non-N-API addon built for another Node.js ABI
    PYTHON_MISMATCH = "python-mismatch"  # a venv or extension module for another Python or libc
    NO_MAIN_CLASS = "no-main-class"  # `java -jar` finds no Main-Class, or not the class it names
    UNKNOWN = "unknown"  # linkcheck cannot tell (says why)


class SearchSource(str, enum.Enum):
    ORIGIN = "origin"  # the directory of the file itself ($ORIGIN)
    RPATH = "rpath"
    RUNPATH = "runpath"
    LD_SO_CONF = "ld.so.conf"
    DEFAULT = "default"
    MUSL_BUILTIN = "musl-builtin"  # names musl's loader satisfies itself (libc.so, libpthread.so.0 ...)
    DIRECT = "direct"  # a DT_NEEDED with a "/" is opened as a path
    LD_LIBRARY_PATH = "ld-library-path"  # the environment variable (a "skipped" step when unset)


class StepResult(str, enum.Enum):
    FOUND = "found"
    NOT_FOUND = "not found"
    SKIPPED = "skipped"  # not tried (unset, ignored by rule)
    WRONG_CLASS = "wrong class"
    WRONG_MACHINE = "wrong machine"
    NOT_LIBRARY = "not a shared library"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class SearchStep:
    """One step of the loader's search for a library, replayed (libtree style)."""

    directory: str
    source: SearchSource
    result: StepResult
    reason: str = ""


@dataclass(frozen=True, slots=True)
class LoadedLibrary:
    """A library the loader would load, and where it found it."""

    name: str  # the DT_NEEDED name
    path: str | None  # where it was found in the target; None for musl built-ins
    source: SearchSource
    needed_by: str


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason the file would not run (or would fail after starting), as reported."""

    kind: Outcome
    subject: str  # the interpreter path, library name, version or symbol that is missing
    needed_by: str  # the file (or library soname) that needs it
    detail: str  # one line
    search: tuple[SearchStep, ...] = ()
    symbols: tuple[str, ...] = ()  # for a missing version: the symbols that need it
    provider: str | None = None  # for a missing version: the target's library file that falls short
    provider_highest: str | None = None  # its highest version in that namespace


@dataclass(frozen=True, slots=True)
class Verdict:
    """What happens when the file is started on one target, with the words `docker run` would print."""

    target: str
    runs: bool
    outcome: Outcome
    problems: tuple[Problem, ...]
    message: str  # what `docker run` would print ("exec /app/hello: no such file or directory")
    shell_message: str  # what a shell in the image would print
    explanation: str
    fixes: tuple[str, ...]
    loaded: tuple[LoadedLibrary, ...] = ()
    notes: tuple[str, ...] = ()
    findings: tuple[RuntimeFinding, ...] = ()  # what fails after it starts (runs says whether it starts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "runs": self.runs,
            "outcome": self.outcome.value,
            "message": self.message,
            "shell_message": self.shell_message,
            "explanation": self.explanation,
            "fixes": list(self.fixes),
            "problems": [
                {
                    "kind": p.kind.value,
                    "subject": p.subject,
                    "needed_by": p.needed_by,
                    "detail": p.detail,
                    "symbols": list(p.symbols),
                    "provider": p.provider,
                    "provider_highest": p.provider_highest,
                    "search": [
                        {"directory": s.directory, "source": s.source.value, "result": s.result.value,
                         "reason": s.reason}
                        for s in p.search
                    ],
                }
                for p in self.problems
            ],
            "loaded": [
                {"name": lib.name, "path": lib.path, "source": lib.source.value, "needed_by": lib.needed_by}
                for lib in self.loaded
            ],
            "notes": list(self.notes),
            "findings": [f.to_dict() for f in self.findings],
        }


# --------------------------------------------------------------------------------------------
# After the start: what a program reads from the image once running (see linkcheck.facts.needs,
# linkcheck.verdict.runtime). Evidence is a fact about the file; a finding is evidence judged against
# an image.
# --------------------------------------------------------------------------------------------


class NeedKind(str, enum.Enum):
    """What a running program looks for in the image (the documented vocabulary of findings)."""

    CA_CERTIFICATES = "ca-certificates"  # a CA bundle, to verify TLS peers
    TIME_ZONES = "time-zones"  # the zoneinfo database, to load a named time zone
    USERS = "users"  # /etc/passwd and /etc/group, to look up users and groups
    DLOPEN = "dlopen"  # a library opened by name at run time, not in DT_NEEDED
    TEMP_DIR = "temp-dir"  # /tmp, for temporary files
    LOCALE = "locale"  # the compiled locale LANG/LC_ALL names, for setlocale(LC_ALL, "")
    DNS = "dns"  # a note, not a failure: musl's resolver behaves unlike glibc's (is_note)

    @property
    def is_note(self) -> bool:
        """A difference worth knowing rather than something that fails: not counted as breaking, and
        left out of --strict (``--fail-on dns`` still counts it)."""
        return self is NeedKind.DNS


class NeedReader(str, enum.Enum):
    """Whose code reads what is needed: it decides the paths looked at."""

    GO = "go"  # the Go standard library
    OPENSSL = "openssl"  # OpenSSL's default verify paths (under its OPENSSLDIR)
    RUSTLS_NATIVE_CERTS = "rustls-native-certs"  # the Rust crate reading the system's CA bundle
    LIBC = "libc"  # the C library (NSS files, mkstemp, the dynamic loader for dlopen)


class Confidence(str, enum.Enum):
    HIGH = "high"  # the file links the code that reads it; the image has none of the paths it reads
    LOW = "low"  # indirect evidence: a string that names a library, code that may serve other uses


@dataclass(frozen=True, slots=True)
class RuntimeNeed:
    """One thing the file will look for after it starts, with the evidence read from the file."""

    kind: NeedKind
    reader: NeedReader
    evidence: tuple[str, ...]  # "Go function crypto/x509.loadSystemRoots", "imports getpwnam", ...
    confidence: Confidence = Confidence.HIGH
    subject: str | None = None  # dlopen: the library name; OpenSSL: its OPENSSLDIR when the file has it


@dataclass(frozen=True, slots=True)
class RuntimeNeeds:
    """Evidence about a file's needs after start. ``provided`` lists what it brings itself (an embedded
    time zone database or CA roots), so that no finding is made for those."""

    needs: tuple[RuntimeNeed, ...] = ()
    provided: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RuntimeFinding:
    """A need the image does not meet: the program starts, then this fails (or, for a note kind, may
    behave unlike on glibc)."""

    kind: NeedKind
    reader: NeedReader
    confidence: Confidence
    evidence: tuple[str, ...]
    lacks: tuple[str, ...]  # the paths the reader looks at, none of which the image has
    subject: str | None = None
    # Words (linkcheck.verdict.runtime_words): when it fails, what the program then says, the fixes.
    when: str = ""
    message: str = ""
    fixes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "reader": self.reader.value,
            "confidence": self.confidence.value,
            "subject": self.subject,
            "evidence": list(self.evidence),
            "lacks": list(self.lacks),
            "when": self.when,
            "message": self.message,
            "fixes": list(self.fixes),
        }


# --------------------------------------------------------------------------------------------
# One file's result in a run or scan
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScanResult:
    """One program or library found by a scan.

    ``path`` is how it is shown: a host path, or "ARCHIVE!/path/in/image", "WHEEL!member". ``container``
    and ``member`` split it for archives and wheels. ``error`` is set (and ``analysis`` None) when the
    file could not be read."""

    path: str
    analysis: Analysis | None
    error: str | None = None
    verdicts: tuple[Verdict, ...] = ()
    container: str | None = None
    member: str | None = None
    # Findings that are not verdicts (a wheel's tags against its modules).
    notes: tuple[Note, ...] = ()

    @property
    def runs(self) -> bool | None:
        """False when any verdict says it will not run, True when all say it runs, None without any."""
        if not self.verdicts:
            return None
        return all(v.runs for v in self.verdicts)

    @property
    def outcome(self) -> Outcome | None:
        """The first verdict's outcome that is not RUNS, else RUNS; None without verdicts."""
        for v in self.verdicts:
            if not v.runs:
                return v.outcome
        return Outcome.RUNS if self.verdicts else None

    def to_dict(self) -> dict[str, Any]:
        """One JSON object, fit for a JSON-lines stream."""
        return {
            "schema_version": SCHEMA_VERSION,
            "path": self.path,
            "container": self.container,
            "member": self.member,
            "error": self.error,
            "runs": self.runs,
            "outcome": self.outcome.value if self.outcome is not None else None,
            "analysis": self.analysis.to_dict() if self.analysis is not None else None,
            "verdicts": [v.to_dict() for v in self.verdicts],
            "notes": [str(n) for n in self.notes],
        }
