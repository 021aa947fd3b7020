"""Will this file start on that image? The decision, in the order the kernel and then the loader
would hit each problem: format, architecture, interpreter, libraries, symbol versions, symbols.

``diagnose`` decides: it returns typed problems and notes, never words. Every problem found is listed;
the first one decides the outcome (``Diagnosis.outcome``). ``linkcheck.verdict.explain`` turns a
diagnosis into the messages, explanation and fixes of a ``Verdict``. ``check`` and ``check_matrix``
are pure functions of the facts, the target and the catalogue of images fixes may suggest (targets are
read only through ``TargetFiles``); ``linkcheck.check`` is the public entry that reads the file and
loads targets by name.
"""

from __future__ import annotations

import dataclasses
import enum
import posixpath
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from linkcheck.errors import UnreadableError
from linkcheck.facts.arch import IRELATIVE_RELOC, libc_of_interpreter
from linkcheck.facts.kernel import (
    ET_DYN,
    ET_EXEC,
    MAX_ARG_STRLEN,
    PHDR_TABLE_LIMIT,
    PT_INTERP,
    exec_strings_limit,
)
from linkcheck.model import (
    Analysis,
    CatalogueImage,
    ElfFacts,
    ElfType,
    ExecError,
    FileFormat,
    FileKind,
    FileView,
    KernelRefusal,
    Libc,
    LibraryFile,
    Linkage,
    LoadedLibrary,
    Outcome,
    RuntimeNeeds,
    ScriptFacts,
    SymbolImport,
    Target,
    TargetFiles,
    Verdict,
)
from linkcheck.verdict.resolve import (
    LoaderFamily,
    MissingLibrary,
    Resolution,
    is_musl_builtin,
    loader_family,
    resolve,
)

# (file, image) pairs the kernel runs: 32-bit x86 on x86-64 (compat mode), and either 32-bit ARM
# float ABI on the other (the kernel does not look at it; the loader and libraries do). 32-bit ARM on
# arm64 depends on the CPU (many arm64 servers have no AArch32), so it is not assumed.
_COMPAT = {("i386", "x86_64"), ("armel", "armhf"), ("armhf", "armel")}


# --------------------------------------------------------------------------------------------
# Problems and notes: what was decided, as data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NotAProgram:
    """Not a format the kernel runs: execve fails with ENOEXEC."""

    kind: ClassVar[Outcome] = Outcome.NOT_EXECUTABLE
    what: FileFormat | ElfType | Linkage


@dataclass(frozen=True, slots=True)
class KernelRefuses:
    """An ELF file execve refuses on any image (facts.kernel): damaged or not written by a linker."""

    kind: ClassVar[Outcome] = Outcome.NOT_EXECUTABLE
    refusal: KernelRefusal


@dataclass(frozen=True, slots=True)
class EnvironmentTooLarge:
    """execve copies the program's path, arguments and environment onto the new stack before it looks
    at the file, and refuses (E2BIG) a string or a total over its limits (``environment_too_large``)."""

    kind: ClassVar[Outcome] = Outcome.ENVIRONMENT_TOO_LARGE
    variable: str | None  # the variable whose KEY=VALUE string is too long; None: the total is
    size: int  # bytes: that string with its NUL, or the total with the pointers
    limit: int


@dataclass(frozen=True, slots=True)
class WrongArchitecture:
    """The file is for another CPU than the image's: execve fails with ENOEXEC."""

    kind: ClassVar[Outcome] = Outcome.WRONG_ARCHITECTURE


@dataclass(frozen=True, slots=True)
class ForeignProgram:
    """A static program for another operating system: the kernel starts it (it does not look at EI_OSABI
    or ELF notes), and its system calls are its own system's, which mean other calls to Linux."""

    kind: ClassVar[Outcome] = Outcome.NOT_LINUX
    system: str | None  # "FreeBSD" ..., None when only an ELF note told (facts keep no note owners)


@dataclass(frozen=True, slots=True)
class ScriptInterpreterMissing:
    """The #! interpreter is not in the image (or, ``crlf``, its name ends in a carriage return)."""

    kind: ClassVar[Outcome] = Outcome.MISSING_INTERPRETER
    interpreter: str
    crlf: bool


@dataclass(frozen=True, slots=True)
class InterpreterNotExecutable:
    """The #! interpreter is in the image but not executable: execve fails with EACCES."""

    kind: ClassVar[Outcome] = Outcome.MISSING_INTERPRETER
    interpreter: str


@dataclass(frozen=True, slots=True)
class EnvProgramMissing:
    """#!/usr/bin/env X: env runs, and finds no X on PATH."""

    kind: ClassVar[Outcome] = Outcome.MISSING_INTERPRETER
    env: str
    wanted: str


@dataclass(frozen=True, slots=True)
class LoaderMissing:
    """The program's PT_INTERP is not in the image."""

    kind: ClassVar[Outcome] = Outcome.MISSING_INTERPRETER
    interpreter: str


@dataclass(frozen=True, slots=True)
class LoaderRefused:
    """The program's PT_INTERP is in the image, and execve refuses it: not a regular file, no execute
    bit, or not an ELF loader for the program's machine (``interpreter_refusal``)."""

    kind: ClassVar[Outcome] = Outcome.MISSING_INTERPRETER
    interpreter: str
    refusal: KernelRefusal


@dataclass(frozen=True, slots=True)
class LoaderNotALoader:
    """The kernel starts the program's PT_INTERP, which is an ELF file but no loader (a program needing
    a loader itself, an object file): it is jumped into unrelocated and dies at once of SIGSEGV."""

    kind: ClassVar[Outcome] = Outcome.MISSING_INTERPRETER
    interpreter: str
    reason: str


@dataclass(frozen=True, slots=True)
class NoLoaderAtAll:
    """A shared library, and the image has no loader to load it with."""

    kind: ClassVar[Outcome] = Outcome.MISSING_INTERPRETER


@dataclass(frozen=True, slots=True)
class LibraryMissing:
    """A needed library the loader does not find in the image."""

    kind: ClassVar[Outcome] = Outcome.MISSING_LIBRARY
    missing: MissingLibrary
    behind_missing_loader: bool  # the loader is missing too: its fixes are the fixes


@dataclass(frozen=True, slots=True)
class VersionMissing:
    """A symbol version the image's library does not define (glibc checks them all at start)."""

    kind: ClassVar[Outcome] = Outcome.MISSING_SYMBOL_VERSION
    version: str
    library: str  # the Verneed entry's library name
    provider: LibraryFile  # the image's file that falls short
    symbols: tuple[str, ...]  # the imports that need the version
    required_by: str | None = None  # the loaded library that needs it; None: the program itself


@dataclass(frozen=True, slots=True)
class SymbolMissing:
    """An import no loaded object defines, needed when the file is relocated at start; or, ``lazy``, a
    function called only through the PLT of a file glibc binds lazily: the program starts, and fails
    when it first calls it."""

    symbol: SymbolImport
    lazy: bool = False

    @property
    def kind(self) -> Outcome:
        return Outcome.STARTS_THEN_FAILS if self.lazy else Outcome.MISSING_SYMBOL


@dataclass(frozen=True, slots=True)
class RelocationRefused:
    """musl's loader refuses a file with IRELATIVE relocations (it has no IFUNC support) at start."""

    kind: ClassVar[Outcome] = Outcome.UNSUPPORTED_RELOCATION
    path: str  # the file as the loader names it
    type: int  # the relocation type's number on this machine (R_X86_64_IRELATIVE: 37)


Finding = (EnvironmentTooLarge | NotAProgram | KernelRefuses | WrongArchitecture | ForeignProgram
           | ScriptInterpreterMissing
           | InterpreterNotExecutable | EnvProgramMissing | LoaderMissing | LoaderRefused | LoaderNotALoader
           | NoLoaderAtAll
           | LibraryMissing
           | VersionMissing | SymbolMissing | RelocationRefused)


class NoteKind(enum.Enum):
    """Facts worth saying that do not change the outcome."""

    SHEBANG_TRUNCATED = enum.auto()
    SHEBANG_ARGUMENT_CRLF = enum.auto()  # subject: the interpreter
    INTERPRETER_NOT_CHECKED = enum.auto()  # subject: the interpreter
    EMULATION = enum.auto()  # another CPU's program: QEMU binfmt would run it
    COMPAT_MODE = enum.auto()  # subject: the file's machine
    OTHER_LIBC_LOADER = enum.auto()  # subject: the library's libc
    LIBRARY_AS_LOADED = enum.auto()
    NO_LOADER_LIBRARIES_LISTED = enum.auto()
    VERSIONS_IGNORED_BY_MUSL = enum.auto()
    VERSIONS_UNKNOWN = enum.auto()  # subject: the provider's path, items: (needed library,)
    SYMBOLS_NOT_CHECKED_GCOMPAT = enum.auto()
    GCOMPAT_PRELOADED = enum.auto()  # subject: the libgcompat file gcompat's loader shim preloads
    SYMBOLS_FROM_PROGRAM = enum.auto()  # items: the symbols
    PRELOAD_MISSING = enum.auto()  # subject: the LD_PRELOAD name the loader does not find
    BINDING_UNKNOWN = enum.auto()  # glibc, relocations unread: missing symbols taken as bound at start
    LIBRARIES_NOT_SEARCHED = enum.auto()  # items: the names needed after too many were missing
    CPU_LEVEL = enum.auto()  # subject: a library found in glibc-hwcaps/LEVEL; items: (LEVEL, baseline or "")


@dataclass(frozen=True, slots=True)
class Note:
    """A fact worth saying that does not change the outcome."""

    kind: NoteKind
    subject: str = ""
    items: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """What would happen, as data: the problems in the order they would be hit, and notes."""

    program: str  # the file's path in the image
    problems: tuple[Finding, ...]
    notes: tuple[Note, ...]
    family: LoaderFamily | None = None  # whose loader rules applied, when libraries were searched
    loaded: tuple[LoadedLibrary, ...] = ()

    @property
    def outcome(self) -> Outcome:
        """The first problem decides the outcome: the kernel or loader stops there."""
        return self.problems[0].kind if self.problems else Outcome.RUNS

    @property
    def decisive(self) -> tuple[Finding, ...]:
        """The problems of the deciding stage (a loader reports a stage's problems together)."""
        outcome = self.outcome
        return tuple(p for p in self.problems if p.kind is outcome)


@dataclass
class _Found:
    """Problems and notes gathered stage by stage for one diagnosis."""

    problems: list[Finding] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    family: LoaderFamily | None = None
    loaded: tuple[LoadedLibrary, ...] = ()


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def check(
    analysis: Analysis,
    target: Target,
    *,
    origin_files: TargetFiles | None = None,
    install_dir: str = "/app",
    catalogue: Sequence[CatalogueImage] | None = None,
    needs: RuntimeNeeds | None = None,
) -> Verdict:
    """Predict what happens when ``analysis``'s file, installed in ``install_dir``, is started on
    ``target``. ``origin_files`` is the file's own host directory (for libraries beside it);
    ``catalogue`` the images a fix may suggest (default: the built-in ones). ``needs``
    (``linkcheck.facts.needs``), when given, are judged too: the verdict's ``findings`` say what fails
    after the start."""
    try:
        return _check(analysis, target, origin_files, install_dir, catalogue, needs)
    except UnreadableError as exc:
        # A file of the target the check needs is there but unreadable: this file's verdict is "cannot
        # tell"; other files, and other targets, are still judged.
        from linkcheck.verdict.explain import cannot_tell

        return cannot_tell(target, _program(analysis, install_dir), exc.path, exc.reason)


def _check(analysis: Analysis, target: Target, origin_files: TargetFiles | None, install_dir: str,
           catalogue: Sequence[CatalogueImage] | None, needs: RuntimeNeeds | None) -> Verdict:
    from linkcheck.verdict import explain

    program = _program(analysis, install_dir)
    too_large = environment_too_large(target, program)
    if too_large is not None:  # before any format: java's own exec fails the same way
        if catalogue is None:
            from linkcheck.image.target import BuiltinCatalogue

            catalogue = BuiltinCatalogue()
        return explain.verdict(analysis, target, Diagnosis(program, (too_large,), ()), catalogue)
    if analysis.format in (FileFormat.JAR, FileFormat.JAVA_CLASS) and analysis.java is not None:
        from linkcheck.verdict.java import check_java  # the image's java runs it, not the kernel

        return check_java(analysis, target, _program(analysis, install_dir))
    if analysis.format is FileFormat.CLASS_DIR and analysis.java is not None:
        from linkcheck.verdict.java import check_java  # a class path: the directory itself is where it lives

        return check_java(analysis, target, _absolute(install_dir))
    if catalogue is None:
        from linkcheck.image.target import BuiltinCatalogue

        catalogue = BuiltinCatalogue(target.machine)
    found = diagnose(analysis, target, origin_files=origin_files, install_dir=install_dir)
    verdict = explain.verdict(analysis, target, found, catalogue)
    elf = analysis.elf
    if analysis.format is FileFormat.ELF and elf is not None and needs is not None and needs.needs:
        from linkcheck.verdict.runtime import runtime_findings
        from linkcheck.verdict.runtime_words import worded

        findings = runtime_findings(needs, elf, target)
        verdict = dataclasses.replace(verdict, findings=tuple(worded(f, target) for f in findings))
    if analysis.format is FileFormat.ELF and elf is not None and elf.interpreter is None \
            and found.program.endswith(".node"):
        from linkcheck.verdict.node import addon_verdict  # node dlopen()s it: its words, its ABI

        return addon_verdict(verdict, elf, target, found.program)
    program = found.program
    if analysis.format is FileFormat.ELF and elf is not None and program.endswith(".so") and (
            "/site-packages/" in program or "/dist-packages/" in program):
        from linkcheck.verdict.python import module_verdict  # the image's python imports it

        return module_verdict(verdict, elf, target, program)
    return verdict


def diagnose(
    analysis: Analysis,
    target: Target,
    *,
    origin_files: TargetFiles | None = None,
    install_dir: str = "/app",
) -> Diagnosis:
    """The problems ``check`` words, as data."""
    install_dir = _absolute(install_dir)
    program = _program(analysis, install_dir)
    found = _Found()
    too_large = environment_too_large(target, program)
    if too_large is not None:
        found.problems.append(too_large)
    elif analysis.format is FileFormat.SCRIPT and analysis.script is not None:
        _check_script(analysis.script, target, found)
    elif analysis.format is FileFormat.ELF and analysis.elf is not None:
        _check_elf(analysis.elf, target, program, found, origin_files, install_dir, analysis.kernel_refusal)
    elif analysis.format is FileFormat.ELF and analysis.kernel_refusal is not None:
        found.problems.append(KernelRefuses(analysis.kernel_refusal))
    else:
        found.problems.append(NotAProgram(analysis.format))
    return Diagnosis(program, tuple(found.problems), tuple(found.notes), found.family, found.loaded)


def environment_too_large(target: Target, program: str) -> EnvironmentTooLarge | None:
    """What execve refuses of the target's environment (its image's Env and --env, the last value of a
    name winning, as `docker run` sets them) when it starts ``program`` with no other argument."""
    env: dict[str, str] = {}
    for var in target.env:
        env[var.name] = var.value
    path = _byte_length(program) + 1
    total = 2 * path + (1 + len(env)) * 8  # the path is copied as the file name and as argv[0]
    for name, value in env.items():
        size = _byte_length(name) + 1 + _byte_length(value) + 1  # KEY=VALUE and its NUL
        if size > MAX_ARG_STRLEN:
            return EnvironmentTooLarge(name, size, MAX_ARG_STRLEN)
        total += size
    limit = exec_strings_limit()
    return EnvironmentTooLarge(None, total, limit) if total > limit else None


def _byte_length(text: str) -> int:
    """Its length in bytes as the kernel gets it, without copying an ASCII string (an image's PATH of
    millions of entries is checked for every file: issue 12.5)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogateescape"))


def _absolute(install_dir: str) -> str:
    return "/" + posixpath.normpath("/" + install_dir).lstrip("/")


def _program(analysis: Analysis, install_dir: str) -> str:
    """The file's path in the image, as loaders and shells print it."""
    return posixpath.join(_absolute(install_dir), posixpath.basename(analysis.path) or "a.out")


def check_matrix(
    analysis: Analysis,
    targets: Sequence[Target],
    *,
    origin_files: TargetFiles | None = None,
    install_dir: str = "/app",
    catalogue: Sequence[CatalogueImage] | None = None,
    needs: RuntimeNeeds | None = None,
) -> tuple[Verdict, ...]:
    """One verdict per target, in the order given."""
    return tuple(check(analysis, t, origin_files=origin_files, install_dir=install_dir, catalogue=catalogue,
                       needs=needs) for t in targets)


# --------------------------------------------------------------------------------------------
# Scripts
# --------------------------------------------------------------------------------------------


def _check_script(s: ScriptFacts, target: Target, found: _Found) -> None:
    files = target.files
    interp = s.interpreter
    if s.truncated:
        found.notes.append(Note(NoteKind.SHEBANG_TRUNCATED))
    if not files.exists(interp):
        found.problems.append(ScriptInterpreterMissing(interp, interp.endswith("\r")))
        return
    if not files.is_executable(interp):
        found.problems.append(InterpreterNotExecutable(interp))
        return
    if s.program and posixpath.basename(interp) == "env":
        wanted = s.program
        places = [wanted] if "/" in wanted else [posixpath.join(d, wanted) for d in target.path_env]
        if not any(files.exists(p) and files.is_executable(p) for p in places):
            found.problems.append(EnvProgramMissing(interp, wanted))
    elif s.crlf:
        found.notes.append(Note(NoteKind.SHEBANG_ARGUMENT_CRLF, interp))
    if not found.problems:
        found.notes.append(Note(NoteKind.INTERPRETER_NOT_CHECKED, interp))


# --------------------------------------------------------------------------------------------
# ELF files
# --------------------------------------------------------------------------------------------


def _check_elf(e: ElfFacts, target: Target, program: str, found: _Found,
               origin_files: TargetFiles | None, install_dir: str,
               refusal: KernelRefusal | None = None) -> None:
    if e.elf_type in (ElfType.REL, ElfType.CORE, ElfType.OTHER):
        found.problems.append(NotAProgram(e.elf_type))
        return
    # 1. The CPU: the kernel checks the ELF header before anything else.
    if e.machine != target.machine and (e.machine, target.machine) not in _COMPAT:
        found.problems.append(WrongArchitecture())
        found.notes.append(Note(NoteKind.EMULATION))
        return  # every library would be of the wrong machine too: nothing more to learn
    if e.machine != target.machine:
        found.notes.append(Note(NoteKind.COMPAT_MODE, e.machine))
    # 1b. The kernel's checks of the program headers and PT_INTERP, after the machine's.
    # Separate debug information: its code is not in the file, whatever the kernel does with it (it
    # refuses an empty PT_INTERP; without one the program dies of SIGSEGV; dlopen says "object file has
    # no dynamic section": each measured). The words say which.
    if e.linkage is Linkage.DEBUG_INFO:
        found.problems.append(NotAProgram(Linkage.DEBUG_INFO))
        return
    if refusal is not None:
        found.problems.append(KernelRefuses(refusal))
        return
    # 1c. Another system's static program: the kernel starts it (it reads no EI_OSABI or ELF note), and
    # then its system calls are not Linux's (a dynamic one stops earlier: its loader is not in the image).
    if e.linkage is Linkage.NOT_LINUX and e.interpreter is None and (e.elf_type is ElfType.EXEC or e.pie):
        found.problems.append(ForeignProgram(_foreign_system(e)))
        return
    # 2. The program interpreter (or, for a shared library, a loader to load it at all).
    is_library = e.interpreter is None and e.elf_type is ElfType.DYN and e.linkage not in (
        Linkage.STATIC, Linkage.STATIC_PIE)
    if e.interpreter is not None:
        view = target.files.view(e.interpreter)
        refused = interpreter_refusal(view, e) if view is not None else None
        if refused is not None:
            found.problems.append(LoaderRefused(e.interpreter, refused))
            return  # execve fails: nothing is loaded
        not_a_loader = interpreter_not_a_loader(view, e) if view is not None else None
        if not_a_loader is not None:
            found.problems.append(LoaderNotALoader(e.interpreter, not_a_loader))
            return  # it crashes before anything is loaded
        if not target.files.exists(e.interpreter):
            found.problems.append(LoaderMissing(e.interpreter))
    elif is_library:
        # No interpreter of its own: whatever loader the image has would load it, with its own rules
        # (musl loads a glibc library: libc.so.6 is itself, versions are ignored; symbols decide).
        if not target.loaders:
            found.problems.append(NoLoaderAtAll())
        elif not _has_loader_for(e.libc, target):
            found.notes.append(Note(NoteKind.OTHER_LIBC_LOADER, e.libc.value))
        found.notes.append(Note(NoteKind.LIBRARY_AS_LOADED))
    else:
        return  # static or static-pie: nothing else is loaded
    if not e.needed:
        # Nothing to load, but musl still relocates the file, and refuses IRELATIVE relocations.
        irelative = IRELATIVE_RELOC.get(e.e_machine)
        if (irelative is not None and not found.problems and loader_family(e.interpreter, target)
                is LoaderFamily.MUSL and e.symbols.irelative):
            found.family = LoaderFamily.MUSL
            found.problems.append(RelocationRefused(program, irelative))
        return
    has_interp = e.interpreter is not None and target.files.exists(e.interpreter)
    # 3. Libraries, 4. symbol versions, 5. symbols.
    res = resolve(e, target, origin_dir=install_dir, origin_files=origin_files, program=program)
    found.family = res.family
    found.notes.extend(Note(NoteKind.PRELOAD_MISSING, m.name) for m in res.preload_missing)
    found.notes.extend(Note(NoteKind.CPU_LEVEL, f.loaded.path or f.loaded.name,
                            (f.cpu_level, f.baseline or "")) for f in res.found if f.cpu_level)
    _missing_libraries(e, target, res, found)
    if res.unsearched:
        found.notes.append(Note(NoteKind.LIBRARIES_NOT_SEARCHED, items=res.unsearched))
    if not target.loaders and not has_interp:
        # Nothing would be loaded at all; the libraries are still listed, so that a fix which only adds
        # a loader (or a libc) is not mistaken for the whole fix (Rust on distroless/static: libgcc_s).
        found.notes.append(Note(NoteKind.NO_LOADER_LIBRARIES_LISTED))
        return
    if res.family is LoaderFamily.GLIBC and target.libc is Libc.GLIBC:
        _versions(e, res, found)
    elif e.version_needs and res.family is LoaderFamily.MUSL and not found.problems:
        found.notes.append(Note(NoteKind.VERSIONS_IGNORED_BY_MUSL))
    _symbols(e, target, program, res, found, is_library=is_library)
    found.loaded = res.loaded


def interpreter_refusal(view: FileView, e: ElfFacts) -> KernelRefusal | None:
    """How execve refuses ``e``'s interpreter, found as ``view``, in the kernel's order (Linux 6.18,
    measured with real execve in tests/test_interpreter_refusals.py); None when it does not. Bytes not
    known (a profile's files) are not judged."""
    if view.kind is not FileKind.REGULAR:
        what = "a directory" if view.kind is FileKind.DIRECTORY else "a FIFO, socket or device"
        return KernelRefusal(ExecError.EACCES, f"the interpreter is {what}, not a regular file",
                             "fs/namei.c may_open: open_exec of a file that is not regular (MAY_EXEC)")
    if not view.executable:
        return KernelRefusal(ExecError.EACCES, "the interpreter has no execute permission",
                             "fs/namei.c may_open: open_exec needs MAY_EXEC, even for root")
    head = view.head
    if head is None:
        return None
    header = 64 if e.elf_class == 64 else 52  # the kernel reads its own (or compat's) Elf_Ehdr
    if len(head) < header:
        return KernelRefusal(
            ExecError.EIO, f"the interpreter is {len(head)} bytes, shorter than an ELF header",
            "fs/binfmt_elf.c load_elf_binary: elf_read of the interpreter's header is short")
    if head[:4] != b"\x7fELF":
        return KernelRefusal(ExecError.ELIBBAD, "the interpreter is not an ELF file",
                             "fs/binfmt_elf.c load_elf_binary: interpreter's e_ident is not ELFMAG")
    order = "<" if e.endianness == "little" else ">"  # the kernel reads it in its own byte order
    machine = struct.unpack_from(order + "H", head, 18)[0]
    if machine != e.e_machine:  # the class byte is not looked at (measured)
        return KernelRefusal(
            ExecError.ELIBBAD, f"the interpreter is not an ELF file for {e.machine}",
            "fs/binfmt_elf.c load_elf_binary: elf_check_arch(interp_elf_ex)")
    phoff, phentsize, phnum = _phdr_table(head, order, e.elf_class == 64)
    table = phentsize * phnum
    if phentsize != (56 if e.elf_class == 64 else 32) or table == 0 or table > PHDR_TABLE_LIMIT or (
            view.size is not None and phoff + table > view.size):
        return KernelRefusal(
            ExecError.ELIBBAD, "the interpreter's program header table cannot be read",
            "fs/binfmt_elf.c load_elf_phdrs(interp_elf_ex): entry size, table size or a short read")
    return None


def _phdr_table(head: bytes, order: str, is64: bool) -> tuple[int, int, int]:
    """(e_phoff, e_phentsize, e_phnum) from an interpreter's raw header, read as the kernel reads it."""
    if is64:
        phoff = struct.unpack_from(order + "Q", head, 32)[0]
        phentsize, phnum = struct.unpack_from(order + "HH", head, 54)
    else:
        phoff = struct.unpack_from(order + "I", head, 28)[0]
        phentsize, phnum = struct.unpack_from(order + "HH", head, 42)
    return phoff, phentsize, phnum


def interpreter_not_a_loader(view: FileView, e: ElfFacts) -> str | None:
    """Why the interpreter the kernel accepted (``interpreter_refusal`` is None) cannot run as one, or
    None. The kernel maps it and jumps to its entry without looking at its type or its own PT_INTERP
    (measured on Linux 6.18: SIGSEGV at once for both); a loader is neither (glibc's ld.so, musl's
    libc.so: ET_DYN, no PT_INTERP). Only what its first bytes show is judged."""
    head = view.head
    if head is None or len(head) < 64 or head[:4] != b"\x7fELF":
        return None
    order = "<" if e.endianness == "little" else ">"
    e_type = struct.unpack_from(order + "H", head, 16)[0]
    if e_type not in (ET_EXEC, ET_DYN):
        return f"it is an ELF file of type {e_type}, not a program or shared object"
    phoff, phentsize, phnum = _phdr_table(head, order, e.elf_class == 64)
    if phoff + phentsize * phnum > len(head):
        return None  # its program headers are past what was read
    for i in range(phnum):
        if struct.unpack_from(order + "I", head, phoff + i * phentsize)[0] == PT_INTERP:
            return "it is a program with a PT_INTERP of its own, which needs a loader to start"
    return None


def _foreign_system(e: ElfFacts) -> str | None:
    from linkcheck.facts.classify import ElfEvidence, foreign_system

    found = foreign_system(ElfEvidence(e.elf_type, e.interpreter, osabi=e.osabi))
    return found[0] if found is not None else None


def _has_loader_for(libc: Libc, target: Target) -> bool:
    if not target.loaders:
        return False
    if libc in (Libc.NONE, Libc.UNKNOWN) or target.libc is libc:
        return True
    return any(libc_of_interpreter(p) is libc for p in target.loaders)


def _missing_libraries(e: ElfFacts, target: Target, res: Resolution, found: _Found) -> None:
    gone = e.interpreter if e.interpreter and not target.files.exists(e.interpreter) else None
    for m in res.missing:
        if gone is not None and m.name in (gone, posixpath.basename(gone)):
            continue  # a DT_NEEDED naming the missing loader itself: already the first problem
        found.problems.append(LibraryMissing(m, gone is not None))


def _versions(e: ElfFacts, res: Resolution, found: _Found) -> None:
    """glibc checks the versions every loaded object needs (rtld's version check, before relocation): the
    program's first, then each library's in load order."""
    needing: dict[str | None, list[str]] | None = None  # version -> imports needing it, built once
    for need in e.version_needs:
        provider = res.provider(need.library)
        if provider is None:
            continue  # the library is missing (already a problem) or was not loaded
        if not provider.version_definitions:
            found.notes.append(Note(NoteKind.VERSIONS_UNKNOWN, provider.path, (need.library,)))
            continue
        for version in need.versions:
            if version not in provider.version_definitions:
                if needing is None:  # one pass over the imports, not one per missing version (issue 12.5)
                    needing = {}
                    for s in e.imports:
                        needing.setdefault(s.version, []).append(s.name)
                symbols = tuple(needing.get(version, ()))
                found.problems.append(VersionMissing(version, need.library, provider, symbols))
    # Each provider once, and its definitions as a set: a program may load hundreds of libraries, each
    # needing versions of the same few.
    providers: dict[str, tuple[LibraryFile | None, frozenset[str]]] = {}
    for f in res.found:
        lib = f.file
        if lib is None or not lib.version_needs:
            continue
        for need in lib.version_needs:
            if need.library not in providers:
                known = res.provider(need.library)
                providers[need.library] = (known, frozenset(known.version_definitions if known else ()))
            provider, defined = providers[need.library]
            # A provider without version definitions is no error to glibc (a note only when tracing).
            if provider is None or not defined:
                continue
            for version in need.versions:
                if version not in defined:
                    tail = f"@{version}"
                    symbols = tuple(sorted(n[:-len(tail)] for n in lib.versioned_imports if n.endswith(tail)))
                    found.problems.append(VersionMissing(version, need.library, provider, symbols, lib.path))


def _symbols(e: ElfFacts, target: Target, program: str, res: Resolution, found: _Found, *,
             is_library: bool) -> None:
    """Imports nobody exports, when every loaded library's exports are known.

    glibc binds a function called through the PLT at its first call, unless the file asks for
    immediate binding (DF_BIND_NOW, DF_1_NOW) or LD_BIND_NOW is set: such a missing function lets the
    program start (a lazy ``SymbolMissing``); a missing data object, or a function whose address is
    taken (a GLOB_DAT relocation), fails at start. musl binds everything at start.

    A shared library (an extension module, a plugin) may leave unversioned symbols to the program that
    loads it (Python's PyList_New for an extension module): those are a note, not a problem. A versioned
    import names its library, so a missing one is a problem for a library too."""
    if res.missing:
        return  # what a missing library would have provided cannot be judged
    musl = res.family is LoaderFamily.MUSL
    interp = res.interpreter
    if musl and interp is None:
        return  # no loader to load anything: the missing interpreter is the problem already reported
    preloaded: list[LibraryFile] = []
    if musl and interp is not None and not _is_musl_itself(interp):
        # gcompat: glibc's loader path is a shim that starts musl's loader with libgcompat preloaded, so
        # musl's symbols and libgcompat's (and its own libraries') count. (A plain symlink from glibc's
        # loader path to musl's loader is musl itself, and is judged as such.)
        shim = _gcompat(target)
        if shim is None:
            found.notes.append(Note(NoteKind.SYMBOLS_NOT_CHECKED_GCOMPAT))
            return
        interp, preloaded = shim
        found.notes.append(Note(NoteKind.GCOMPAT_PRELOADED, preloaded[0].path))
    files = [f.file for f in res.found if f.loaded.path is not None]
    if interp is not None:
        files.append(interp)
    files += preloaded
    if not files or any(f is None or f.exports is None for f in files):
        return
    # Each name is looked up in each file until found (a union of the files' exports, made for every
    # file checked, costs more: a C library alone exports thousands of names).
    tables = [(f.exports, f.ifuncs) for f in files if f is not None and f.exports is not None]

    def defines(name: str | None) -> bool:
        if not musl:
            return any(name in names for names, _ in tables)
        # musl's lookup ignores versions, IFUNC definitions and non-default versions (whose plain name
        # is not in ``exports``).
        return name is not None and "@" not in name and any(
            name in names and name not in ifuncs for names, ifuncs in tables)

    reported = {p.version for p in found.problems if isinstance(p, VersionMissing)}
    # An executable's COPY-relocated data objects are defined in it (with the version it was linked
    # against), yet must come from a library. For musl, so must the file's own IFUNC and non-default-
    # version definitions that its relocations name: musl's lookup skips them.
    elsewhere = e.symbols.copied | (e.symbols.self_refs if musl else frozenset())
    wanted = [*e.imports]
    # Only a name no loaded file defines can be missing, whatever its version: the file's exports (which
    # cost more to read than all the rest) are read for the versions only then.
    if any(not defines(n) for n in elsewhere):
        wanted += (SymbolImport(x.name, x.version, None, False) for x in e.exports if x.name in elsewhere)
    if musl:
        lfs64 = _musl_lfs64(target, interp)
        missing = [s for s in dict.fromkeys(wanted)
                   if not s.weak and not defines(s.name) and not defines(lfs64.get(s.name))]
    else:
        missing = [s for s in wanted
                   if not s.weak and s.version not in reported and not defines(s.name)
                   and not defines(f"{s.name}@{s.version}")]
    if is_library:
        from_program = tuple(s.name for s in missing if s.version is None)
        if from_program:
            found.notes.append(Note(NoteKind.SYMBOLS_FROM_PROGRAM, items=from_program))
        missing = [s for s in missing if s.version is not None]
    lazy: frozenset[str] = frozenset()
    if missing and not musl and not e.bind_now and not _bind_now_env(target):
        if e.symbols.lazy_imports is None:
            found.notes.append(Note(NoteKind.BINDING_UNKNOWN))
        lazy = e.symbols.lazy_imports or frozenset()
    # Those failing at start first: the first problem decides the outcome. musl relocates the libraries
    # before the program, and refuses IRELATIVE relocations (of this machine's numbering) in any of them.
    irelative = IRELATIVE_RELOC.get(e.e_machine)
    if musl and irelative is not None:
        found.problems.extend(RelocationRefused(f.path, irelative) for f in files
                              if f is not None and f.irelative and f is not interp)
    found.problems.extend(SymbolMissing(s) for s in missing if s.name not in lazy)
    if musl and irelative is not None and e.symbols.irelative:
        found.problems.append(RelocationRefused(program, irelative))
    found.problems.extend(SymbolMissing(s, lazy=True) for s in missing if s.name in lazy)


# musl's loader resolves these NAME64 symbols (glibc's LFS64 names) to NAME, and readdir64_r to readdir_r
# (ldso/dynlink.c, get_lfs64), since the names stopped being exported: musl 1.2.4 (alpine 3.18) still exports
# them itself, 1.2.4_git20230717 (alpine 3.19) and 1.2.5 map them (scripts/measure_musl_symbols.py, real
# roots). Mapping from 1.2.4 on is harmless where they are exported: the export is found first.
MUSL_LFS64_BASES = (
    "aio_cancel", "aio_error", "aio_fsync", "aio_read", "aio_return", "aio_suspend", "aio_write", "alphasort",
    "creat", "fallocate", "fgetpos", "fopen", "freopen", "fseeko", "fsetpos", "fstat", "fstatat", "fstatfs",
    "fstatvfs", "ftello", "ftruncate", "ftw", "getdents", "getrlimit", "glob", "globfree", "lio_listio",
    "lockf", "lseek", "lstat", "mkostemp", "mkostemps", "mkstemp", "mkstemps", "mmap", "nftw", "open",
    "openat", "posix_fadvise", "posix_fallocate", "pread", "preadv", "prlimit", "pwrite", "pwritev",
    "readdir", "scandir", "sendfile", "setrlimit", "stat", "statfs", "statvfs", "tmpfile", "truncate",
    "versionsort", "__fxstat", "__fxstatat", "__lxstat", "__xstat",
)
_LFS64 = {**{f"{b}64": b for b in MUSL_LFS64_BASES}, "readdir64_r": "readdir_r"}


def _musl_lfs64(target: Target, interp: LibraryFile | None) -> dict[str, str]:
    """NAME64 -> NAME, for the musl versions whose loader maps them; nothing for older or unknown ones."""
    if interp is None or not _is_musl_itself(interp):
        return {}
    m = re.match(r"(\d+)\.(\d+)\.(\d+)", target.libc_version or "")
    return _LFS64 if m and tuple(map(int, m.groups())) >= (1, 2, 4) else {}


# Where gcompat's loader shim preloads libgcompat from (its Makefile's LIBGCOMPAT_PATH, /lib on alpine);
# the musl search directories are tried after it.
GCOMPAT_LIBRARY = "/lib/libgcompat.so.0"


def _gcompat(target: Target) -> tuple[LibraryFile, list[LibraryFile]] | None:
    """(musl's loader, [libgcompat and the libraries it needs]) for an image whose glibc-named loader is
    gcompat's shim (a static program that execs musl's loader with --preload libgcompat.so.0); None when
    the image has no readable musl loader or no libgcompat, and symbols cannot be judged."""
    files = target.files
    musl = next((lib for p in target.loaders if posixpath.basename(p).startswith("ld-musl")
                 and (lib := files.library(p)) is not None and _is_musl_itself(lib)), None)
    dirs = [d.path for d in target.search_dirs]
    gcompat = next((lib for p in (GCOMPAT_LIBRARY, *(posixpath.join(d, "libgcompat.so.0") for d in dirs))
                    if (lib := files.library(p)) is not None), None)
    if musl is None or musl.exports is None or gcompat is None or gcompat.exports is None:
        return None
    needs = [next((lib for d in dirs if (lib := files.library(posixpath.join(d, name))) is not None), None)
             for name in gcompat.needed if not is_musl_builtin(name)]
    return musl, [gcompat, *(lib for lib in needs if lib is not None and lib.exports is not None)]


def _is_musl_itself(interp: LibraryFile) -> bool:
    """musl's loader, under its own name or another (glibc's loader path symlinked to it): its soname
    (alpine's libc.musl-ARCH.so.1; Debian's has none) or its stage-3 entry point __dls3, which musl's
    loader exports (measured in Debian's 1.2.3 and alpine's 1.2.5) and no glibc object defines."""
    name, soname = posixpath.basename(interp.path), interp.soname or ""
    return (name.startswith("ld-musl") or soname.startswith("libc.musl-")
            or interp.exports is not None and "__dls3" in interp.exports)


def _bind_now_env(target: Target) -> bool:
    """LD_BIND_NOW set to anything but the empty string makes glibc bind every symbol at start."""
    var = target.getenv("LD_BIND_NOW")
    return var is not None and var.value != ""
