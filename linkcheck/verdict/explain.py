"""Text for verdicts: the messages the kernel, loaders, env and shells print, plain explanations,
and fixes fitted to the file's toolchain. ``verdict`` words a ``checks.Diagnosis``; everything here is
a pure function of the facts, the target and the catalogue of images it is given to suggest."""

from __future__ import annotations

import enum
import posixpath
import struct
from collections.abc import Sequence

from linkcheck.facts.arch import abi_of
from linkcheck.facts.arch import libc_of_interpreter as _libc_of_interpreter
from linkcheck.model import (
    Analysis,
    CatalogueImage,
    ElfFacts,
    ElfType,
    ExecError,
    FileFormat,
    FileView,
    Language,
    Libc,
    Linkage,
    Outcome,
    Problem,
    SearchSource,
    StepResult,
    Target,
    TargetFiles,
    Verdict,
    version_key,
)
from linkcheck.verdict.checks import (
    Diagnosis,
    EnvironmentTooLarge,
    EnvProgramMissing,
    Finding,
    ForeignProgram,
    InterpreterNotExecutable,
    KernelRefuses,
    LibraryMissing,
    LoaderMissing,
    LoaderNotALoader,
    LoaderRefused,
    NoLoaderAtAll,
    NotAProgram,
    Note,
    NoteKind,
    RelocationRefused,
    ScriptInterpreterMissing,
    SymbolMissing,
    VersionMissing,
    WrongArchitecture,
)
from linkcheck.verdict.resolve import MAX_MISSING_SEARCHED, LoaderFamily, LoadError, MissingLibrary

# --------------------------------------------------------------------------------------------
# A diagnosis in words
# --------------------------------------------------------------------------------------------

_SHEBANG_FIX = "start the file with a #! line naming its interpreter, e.g. #!/bin/sh"

_NOT_PROGRAM: dict[FileFormat | ElfType | Linkage, str] = {
    FileFormat.TEXT: "a text file without a #! line: the kernel does not know how to run it",
    FileFormat.EMPTY: "an empty file: the kernel does not know how to run it",
    FileFormat.DATA: "not a program format Linux runs",
    FileFormat.PE: "a Windows program (PE): Linux does not run it",
    FileFormat.MACH_O: "a macOS program (Mach-O): Linux does not run it",
    FileFormat.JAR: "a Java archive: the kernel does not run it; run it with `java -jar` on an image "
    "with Java",
    FileFormat.JAVA_CLASS: "a Java class file: the kernel does not run it; run it with `java` on an image "
    "with Java",
    FileFormat.WHEEL: "a Python wheel: install it with pip, it is not a program",
    ElfType.REL: "an object file (ET_REL): link it into a program first",
    ElfType.CORE: "a core dump",
    ElfType.OTHER: "an ELF file of an unknown type",
    Linkage.DEBUG_INFO: "separate debug information (objcopy --only-keep-debug), not a program or library: "
    "its code is not in the file, only headers, notes and debug sections for a debugger",
}
# Debug-info files without a PT_INTERP the kernel refuses: it maps them, and the program dies at its
# first instruction, an empty page (measured: SIGSEGV; a dlopen fails "object file has no dynamic section").
_DEBUG_INFO_RUN = ("Run, it dies of SIGSEGV at once (its code pages are empty); loaded as a library, it "
                   "fails with \"object file has no dynamic section\".")


def cannot_tell(target: Target, program: str, path: str, reason: str) -> Verdict:
    """The verdict when a file of the target that the check needs is there but cannot be read."""
    name = posixpath.basename(program)
    return Verdict(
        target=target.name,
        runs=False,
        outcome=Outcome.UNKNOWN,
        problems=(Problem(Outcome.UNKNOWN, path, program, f"{path}: {reason}"),),
        message="",
        shell_message="",
        explanation=(f"linkcheck cannot tell whether {name} starts on {target.name}: {path} is there but "
                     f"cannot be read ({reason}), and starting {name} depends on what it holds."),
        fixes=(f"make {path} readable to the user running linkcheck (or run it as root), then check again",),
    )


def verdict(analysis: Analysis, target: Target, diagnosis: Diagnosis,
            catalogue: Sequence[CatalogueImage], host: str | None = None) -> Verdict:
    """The verdict for a diagnosis: each problem as a ``Problem`` with its explanation and fixes; the
    messages the loader (or kernel, env, shell) prints for the problems of the deciding stage.
    ``host`` is the machine the user runs on (default: this one), for what emulation would do."""
    if host is None:
        from linkcheck.facts.arch import host_machine

        host = host_machine()
    words = _Words(analysis, target, diagnosis, catalogue, host)
    problems: list[Problem] = []
    explanation: list[str] = []
    fixes: list[str] = []
    given: set[str] = set()
    found = diagnosis.problems
    for i, p in enumerate(found):
        problem, why, more = words.problem(p)
        problems.append(problem)
        explanation.append(why)
        last_version = isinstance(p, VersionMissing) and not (
            i + 1 < len(found) and isinstance(found[i + 1], VersionMissing))
        if last_version:  # after a stage's versions, the fixes for them all
            more = [*more, *words.version_fixes([q for q in found if isinstance(q, VersionMissing)])]
        for f in more:  # a set beside the list: thousands of problems stay linear (issue 12.5)
            if f not in given:
                given.add(f)
                fixes.append(f)
    fixes = combine_installs(fixes)
    message, shell_message = words.messages(diagnosis.decisive)
    return Verdict(
        target=target.name,
        runs=not found,
        outcome=diagnosis.outcome,
        problems=tuple(problems),
        message=message,
        shell_message=shell_message,
        explanation=" ".join(explanation),
        fixes=tuple(fixes),
        loaded=diagnosis.loaded,
        notes=tuple(words.note(n) for n in diagnosis.notes),
    )


class _Words:
    """The wording of one diagnosis: the file, the target and what it needs to say about them."""

    def __init__(self, analysis: Analysis, target: Target, diagnosis: Diagnosis,
                 catalogue: Sequence[CatalogueImage], host: str) -> None:
        self.analysis = analysis
        self.host = host
        self.target = target
        self.program = diagnosis.program
        self.name = posixpath.basename(diagnosis.program)
        self.family = diagnosis.family
        self.catalogue = catalogue

    @property
    def elf(self) -> ElfFacts:
        assert self.analysis.elf is not None  # only ELF files have problems past the format
        return self.analysis.elf

    # -- problems ----------------------------------------------------------------------------

    def problem(self, p: Finding) -> tuple[Problem, str, Sequence[str]]:
        """The problem as reported, why it happens, and its own fixes."""
        program, name, target = self.program, self.name, self.target
        if isinstance(p, NotAProgram):
            why = _NOT_PROGRAM.get(p.what, "not a program")
            fixes = [_SHEBANG_FIX] if p.what in (FileFormat.TEXT, FileFormat.EMPTY) else []
            said = "execve fails with ENOEXEC: exec format error."
            refusal = self.analysis.kernel_refusal
            if p.what is Linkage.DEBUG_INFO:
                said = (_DEBUG_INFO_RUN if refusal is None
                        else f"The kernel refuses it ({refusal.reason}): {said}")
            problem = Problem(Outcome.NOT_EXECUTABLE, p.what.value, program, why)
            return problem, f"{name} is {why}. {said}", fixes
        if isinstance(p, EnvironmentTooLarge):
            if p.variable is not None:
                what = f"{p.variable}=... is {p.size} bytes with its NUL"
                fix = f"shorten {p.variable} (the image's ENV, or --env) below {p.limit} bytes"
                most = f"{p.limit} bytes in one string"
            else:
                what = f"the environment, the path and their pointers take {p.size} bytes"
                fix = "make the image's environment (ENV, --env) smaller"
                most = f"{p.limit} bytes in all (a quarter of the 8 MiB stack limit containers start with)"
            why = (f"execve copies the program's path, arguments and environment onto its new stack before "
                   f"it looks at {name}, and passes at most {most}: {what}. It fails with E2BIG, so no "
                   f"process starts in {target.name} with this environment, a shell neither.")
            return (Problem(Outcome.ENVIRONMENT_TOO_LARGE, p.variable or "environment", program,
                            f"{what}; execve passes at most {p.limit}"), why, [fix])
        if isinstance(p, KernelRefuses):
            r = p.refusal
            why = (f"The kernel refuses {name} before it looks at anything in {target.name}: {r.reason} "
                   f"({r.rule}). execve fails with {r.error.value}: {r.error.strerror}.")
            return (Problem(Outcome.NOT_EXECUTABLE, r.error.value, program, r.reason), why,
                    [f"rebuild {name}, or copy it again: the file is damaged or was not written by a linker"])
        if isinstance(p, ScriptInterpreterMissing):
            shown = p.interpreter.replace("\r", "\\r")
            if p.crlf:
                why = (f"{name}'s #! line ends in CR LF (Windows line endings), so the kernel looks for an "
                       f"interpreter named '{shown}' (with a carriage return), which {target.name} does not "
                       "have.")
                fixes = crlf_fixes(name)
            else:
                why = (f"{name} starts with '#!{p.interpreter}', so the kernel runs {p.interpreter}, which "
                       f"{target.name} does not have; it reports that as 'no such file or directory' for the "
                       f"script itself.{_shells_in(target)}")
                fixes = script_interpreter_fixes(p.interpreter, target)
            return (Problem(Outcome.MISSING_INTERPRETER, p.interpreter, program,
                            f"#! interpreter {shown} is not in the image"), why, fixes)
        if isinstance(p, InterpreterNotExecutable):
            interp = p.interpreter
            return (Problem(Outcome.MISSING_INTERPRETER, interp, program, f"{interp} is not executable"),
                    f"{interp} exists in {target.name} but is not executable: execve fails with EACCES.",
                    [f"make {interp} executable in the image (chmod +x)"])
        if isinstance(p, EnvProgramMissing):
            wanted = p.wanted
            shown = wanted.replace("\r", "\\r")
            if wanted.endswith("\r"):
                why = (f"the #! line ends in CR LF (Windows line endings), so env looks for a program named "
                       f"'{shown}' (with a carriage return) on PATH, and finds none.")
                fixes = crlf_fixes(name)
            else:
                path = ":".join(target.path_env) or "(empty)"
                why = (f"{name} runs '{p.env} {wanted}'; env looks for {wanted} on PATH "
                       f"({path}), and {target.name} has no {wanted} there.{_shells_in(target)}")
                fixes = script_interpreter_fixes(wanted, target)
            return (Problem(Outcome.MISSING_INTERPRETER, wanted, program, f"env finds no {shown} on PATH"),
                    why, fixes)
        if isinstance(p, WrongArchitecture):
            e = self.elf
            why = (f"{name} is built for {e.machine} ({e.elf_class}-bit, linux/{e.docker_arch}); "
                   f"{target.name} is an image for {target.machine} (linux/{target.docker_arch}). The kernel "
                   f"refuses a program for another CPU: exec format error. To run it as it is, use an image "
                   f"for its platform: --platform linux/{e.docker_arch}.")
            return (Problem(Outcome.WRONG_ARCHITECTURE, e.machine, program,
                            f"built for {e.machine}, the image is {target.machine}"),
                    why, arch_fixes(e, target, self.host))
        if isinstance(p, ForeignProgram):
            e = self.elf
            system = p.system or "another operating system"
            whose = f"a {p.system} program" if p.system else "a program for another operating system"
            evidence = e.linkage_evidence.split(":")[0]
            why = (f"{name} is {whose} ({evidence}), statically linked. Linux does not look at which system "
                   f"an ELF file is for: execve starts it, and its system calls are "
                   f"{system}'s, whose numbers name other calls on Linux, so it does not do what it should "
                   "(it misbehaves or is killed by a signal, without a message).")
            return (Problem(Outcome.NOT_LINUX, p.system or "not Linux", program,
                            f"{whose}: its system calls are not Linux's"),
                    why, [f"build {name} for Linux (the same sources with a Linux toolchain), or run it on "
                          f"{system}"])
        if isinstance(p, NoLoaderAtAll):
            why = (f"{name} is a shared library ({libc_words(self.elf.libc)}): it cannot be loaded, since "
                   f"{target.name} has no dynamic loader at all, so no program there can load it.")
            return (Problem(Outcome.MISSING_INTERPRETER, "dynamic loader", program,
                            "cannot be loaded: the image has no dynamic loader"),
                    why, loader_fixes(self.elf, target, self.catalogue))
        if isinstance(p, LoaderMissing):
            return self._loader_missing(p.interpreter)
        if isinstance(p, LoaderNotALoader):
            interp = p.interpreter
            why = (f"{name} is dynamically linked: the kernel starts its loader {interp} (PT_INTERP), but "
                   f"what {target.name} has there is no loader: {p.reason}. The kernel maps it and jumps to "
                   "its entry unrelocated, and it dies at once of SIGSEGV (exit status 139; `docker run` "
                   "prints nothing).")
            return (Problem(Outcome.MISSING_INTERPRETER, interp, program, f"loader {interp}: {p.reason}"),
                    why, [f"put the loader back at {interp} (its C library's package installs it)"])
        if isinstance(p, LoaderRefused):
            r, interp = p.refusal, p.interpreter
            why = (f"{name} is dynamically linked: the kernel must first start its loader {interp} "
                   f"(PT_INTERP). {target.name} has something at that path, but the kernel refuses it: "
                   f"{r.reason} ({r.rule}). execve fails with {r.error.value}: {r.error.strerror}.")
            return (Problem(Outcome.MISSING_INTERPRETER, interp, program, f"loader {interp}: {r.reason}"),
                    why, [f"put the loader back at {interp} as a regular, executable ELF file for "
                          f"{self.elf.machine} (its C library's package installs it)"])
        if isinstance(p, LibraryMissing):
            m = p.missing
            looked = [s.directory for s in m.search if s.result != "skipped"]
            where = f" The loader looked in: {', '.join(looked)}." if looked else ""
            why = f"{m.needed_by} needs {m.name}, which {target.name} does not have where the loader looks."
            # Behind a missing loader, the loader's fixes (another base, a static build) are the fixes.
            fixes = [] if p.behind_missing_loader else library_fixes(m.name, self.elf, target)
            return (Problem(Outcome.MISSING_LIBRARY, m.name, m.needed_by,
                            f"{m.name}: {self.load_error(m)}", search=m.search), why + where, fixes)
        if isinstance(p, VersionMissing):
            version, provider = p.version, p.provider
            ns = namespace_of(version)
            top = highest(provider.version_definitions, ns)
            for_what = f" (for {quote_list(p.symbols)})" if p.symbols else ""
            image = ""
            if ns == "GLIBC_" and target.libc_version:
                image = f"; the image's glibc is {target.libc_version}"
            most = top or f"no {ns} version"
            who = name if p.required_by is None else f"{p.required_by}, which {name} loads,"
            why = (f"{who} needs {version} from {p.library}{for_what}, but {provider.path} in {target.name} "
                   f"provides at most {most}{image}.")
            return (Problem(Outcome.MISSING_SYMBOL_VERSION, version, p.required_by or program,
                            f"{provider.path} has no {version} (highest {top})", symbols=p.symbols,
                            provider=provider.path, provider_highest=top), why, [])
        if isinstance(p, RelocationRefused):
            return (Problem(Outcome.UNSUPPORTED_RELOCATION, f"relocation type {p.type}", p.path,
                            f"IRELATIVE relocations (type {p.type}): musl does not support them"),
                    f"{p.path} has IRELATIVE relocations (an IFUNC resolved at load time, type {p.type}); "
                    "musl's loader has no IFUNC support and refuses the file.",
                    ["build it without IFUNCs (or against musl), or run it on a glibc image"])
        s = p.symbol
        if p.lazy:
            return (Problem(Outcome.STARTS_THEN_FAILS, s.name, program,
                            f"undefined function {s.name}: fails at its first call"),
                    f"{name} calls {s.name}, which no library loaded in the image defines. It starts "
                    f"anyway: glibc binds functions lazily ({name} is not linked with -z now), so it "
                    f"fails only when it first calls {s.name}, with exit status 127.",
                    ["build against the same library versions the image has",
                     "to fail at start instead of at the call, link with -Wl,-z,now or set LD_BIND_NOW=1"])
        return (Problem(Outcome.MISSING_SYMBOL, s.name, program, f"undefined symbol {s.name}"),
                f"{name} uses {s.name}, which no library loaded in the image defines.",
                ["build against the same library versions the image has"])

    def _loader_missing(self, interp: str) -> tuple[Problem, str, Sequence[str]]:
        e, target = self.elf, self.target
        file_libc = _libc_of_interpreter(interp)
        libc = libc_words(file_libc if file_libc is not Libc.UNKNOWN else e.libc)
        why = (f"{self.name} is dynamically linked for {libc}: the kernel must first start its loader "
               f"{interp} (PT_INTERP), which {target.name} does not have. The image has "
               f"{image_loaders(target)} ({libc_words(target.libc, target.libc_version)}). The kernel "
               f"reports a missing loader as 'no such file or directory' for the program itself, though "
               f"{self.program} is there.")
        return (Problem(Outcome.MISSING_INTERPRETER, interp, self.program,
                        f"loader {interp} is not in the image"), why,
                loader_fixes(e, target, self.catalogue))

    def version_fixes(self, missing: Sequence[VersionMissing]) -> list[str]:
        """Fixes for the highest missing version of each namespace only."""
        worst: dict[str, list[VersionMissing]] = {}
        for p in missing:
            worst.setdefault(namespace_of(p.version), []).append(p)
        fixes: list[str] = []
        for ns, group in worst.items():
            top = max(group, key=lambda p: version_sort_key(p.version, ns))
            fixes.extend(version_fixes(top.version, highest(top.provider.version_definitions, ns), self.elf,
                                       self.target, self.catalogue))
        return fixes

    # -- what gets printed -------------------------------------------------------------------

    def messages(self, decisive: Sequence[Finding]) -> tuple[str, str]:
        """(what `docker run` prints, what a shell in the image prints) for the deciding stage's
        problems. A loader reports some stages whole: musl every missing library and symbol, glibc
        every missing version, but only its first missing library or symbol."""
        if not decisive:
            return "", ""
        program, target = self.program, self.target
        shell = shell_of(target)
        first = decisive[0]
        if isinstance(first, (LibraryMissing, VersionMissing, SymbolMissing, RelocationRefused)):
            musl = self.family is LoaderFamily.MUSL
            stage = decisive if musl or isinstance(first, VersionMissing) else decisive[:1]
            lines = "\n".join(self._loader_line(p, musl) for p in stage)
            return lines, lines
        if (isinstance(first, NotAProgram) and first.what is Linkage.DEBUG_INFO
                and self.analysis.kernel_refusal is None):  # SIGSEGV: runc says nothing
            return "", {Shell.ASH: "Segmentation fault", Shell.NONE: NO_SHELL}.get(shell, "")
        if isinstance(first, NotAProgram):
            if first.what in (FileFormat.TEXT, FileFormat.EMPTY) and shell is not Shell.NONE:
                said = f"(a shell runs {program} as a shell script itself, since it has no #! line)"
            else:
                said = shell_exec_format(shell, program)
            return docker_exec(program, "exec format error"), said
        if isinstance(first, LoaderNotALoader):  # the process dies of SIGSEGV: runc prints nothing
            return "", {Shell.ASH: "Segmentation fault", Shell.NONE: NO_SHELL}.get(shell, "")
        if isinstance(first, EnvironmentTooLarge):  # a shell in the image gets the same environment
            line = docker_exec(program, ExecError.E2BIG.strerror)
            return line, line
        if isinstance(first, (KernelRefuses, LoaderRefused)):
            error = first.refusal.error
            if error is ExecError.ENOEXEC:
                said = shell_exec_format(shell, program)
            else:  # the shells print strerror as the C library words it (measured: bash, dash, busybox ash)
                text = error.strerror.capitalize()
                said = {Shell.BASH: f"bash: {program}: {text}", Shell.OLD_BASH: f"bash: {program}: {text}",
                        Shell.DASH: f"sh: 1: {program}: {text}", Shell.ASH: f"sh: {program}: {text}",
                        }.get(shell, NO_SHELL)
            return docker_exec(program, error.strerror), said
        if isinstance(first, WrongArchitecture):
            e = self.elf
            abi = abi_of(target.machine)
            library = e.interpreter is None and e.elf_type is ElfType.DYN and e.linkage not in (
                Linkage.STATIC, Linkage.STATIC_PIE)
            if library and target.libc is Libc.GLIBC and abi is not None and abi.elf_class == e.elf_class:
                # Loaded, not executed: glibc's loader skips a file of another machine as if absent
                # (measured: dlopen of an aarch64 library by path on x86_64 glibc 2.36).
                line = f"{program}: {GLIBC_NOT_FOUND}"
                return line, line
            return docker_exec(program, "exec format error"), shell_exec_format(shell, program)
        if isinstance(first, ScriptInterpreterMissing):
            return (docker_exec(program, "no such file or directory"),
                    shell_bad_interpreter(shell, program, first.interpreter))
        if isinstance(first, InterpreterNotExecutable):
            return (docker_exec(program, "permission denied"),
                    _shell_permission(shell, program, first.interpreter))
        if isinstance(first, EnvProgramMissing):
            line = env_not_found(first.env, first.wanted, busybox_env(target.files))
            return line, line
        if isinstance(first, NoLoaderAtAll):
            line = f"{program}: cannot be loaded: the image has no dynamic loader"
            return line, line
        if isinstance(first, ForeignProgram):
            line = (f"(no message: {program} starts, and its {first.system or 'foreign'} system calls do "
                    "other things on Linux: it misbehaves or is killed by a signal)")
            return line, line
        return docker_exec(program, "no such file or directory"), shell_not_found(shell, program)

    def _loader_line(self, p: Finding, musl: bool) -> str:
        program = self.program
        if isinstance(p, LibraryMissing):
            m = p.missing
            if not musl:
                return glibc_missing_library(program, m.shown or m.name, self.load_error(m))
            if m.error is LoadError.BAD_RELOCATION:
                return musl_bad_relocation(m.shown)
            return musl_missing_library(m.name, self.load_error(m), m.needed_by)
        if isinstance(p, VersionMissing):
            return glibc_missing_version(program, p.provider.path, p.version, p.required_by or program)
        if isinstance(p, RelocationRefused):
            return f"Error relocating {p.path}: unsupported relocation type {p.type}"
        assert isinstance(p, SymbolMissing)
        s = p.symbol
        if musl:
            return musl_missing_symbol(program, s.name)
        return glibc_undefined_symbol(program, program, s.name, s.version)

    def load_error(self, m: MissingLibrary) -> str:
        """Why a library was not loaded, as the loader words it (strerror for musl)."""
        error = m.error
        if self.family is LoaderFamily.MUSL:
            if error is LoadError.BAD_RELOCATION:
                return MUSL_BAD_RELOCATION
            return MUSL_BAD_FILE if error in (LoadError.BAD_FILE, LoadError.NOT_LIBRARY) else MUSL_NOT_FOUND
        if error is LoadError.NOT_LIBRARY:
            view = self.target.files.view(m.shown) if m.shown else None
            return glibc_not_loadable(view, self.elf.elf_class)
        if error is LoadError.WRONG_CLASS:
            return f"wrong ELF class: ELFCLASS{32 if self.elf.elf_class == 64 else 64}"
        if all(s.result is StepResult.SKIPPED
               or s.result is StepResult.NOT_FOUND and s.source is SearchSource.LD_SO_CONF for s in m.search):
            # No file was ever opened (skipped directories; ld.so.conf directories stand for ld.so.cache,
            # looked up without opening anything): glibc has no errno to print (DF_1_NODEFLIB, typically).
            return GLIBC_CANNOT_OPEN
        return GLIBC_NOT_FOUND

    # -- notes -------------------------------------------------------------------------------

    def note(self, n: Note) -> str:
        kind, target = n.kind, self.target
        if kind is NoteKind.SHEBANG_TRUNCATED:
            return ("the #! line is longer than the kernel reads (256 bytes since Linux 5.1): the "
                    "interpreter path or argument is cut there")
        if kind is NoteKind.SHEBANG_ARGUMENT_CRLF:
            return (f"the #! line ends in CR LF: {n.subject} is found, but its argument ends in a carriage "
                    "return, which the interpreter may reject")
        if kind is NoteKind.INTERPRETER_NOT_CHECKED:
            return f"{n.subject}'s own libraries are not checked"
        if kind is NoteKind.EMULATION:
            if self.elf.machine == self.host:  # a kernel runs its own machine's programs, whatever the image
                return (f"this host is {self.host} like the file, so here its kernel runs it natively (if "
                        f"all it loads is {self.host} too); {with_article(target.machine)} host runs it only "
                        "under emulation (QEMU binfmt handlers: Docker Desktop, qemu-user-static)")
            return ("a host with QEMU binfmt handlers (Docker Desktop, qemu-user-static) runs it under "
                    "emulation instead")
        if kind is NoteKind.COMPAT_MODE:
            return (f"{with_article(n.subject)} program on {with_article(target.machine)} image: the kernel "
                    "runs it in compat mode, which most distribution kernels enable")
        if kind is NoteKind.OTHER_LIBC_LOADER:
            return (f"{with_article(libc_words(self.elf.libc))} library, loaded here by the image's "
                    f"{libc_words(target.libc)} loader")
        if kind is NoteKind.LIBRARY_AS_LOADED:
            return ("a shared library is judged as loaded into a program in the image (executing it "
                    "directly is meaningless: it typically crashes); messages name it where the program's "
                    "name would be")
        if kind is NoteKind.NO_LOADER_LIBRARIES_LISTED:
            return f"{target.name} has no dynamic loader; the libraries listed are missing too"
        if kind is NoteKind.VERSIONS_IGNORED_BY_MUSL:
            return "musl's loader ignores symbol versions: they were not checked"
        if kind is NoteKind.VERSIONS_UNKNOWN:
            return (f"{n.subject} records no symbol versions (or they are not known): the versions "
                    f"{self.program} needs from {n.items[0]} were not checked")
        if kind is NoteKind.SYMBOLS_NOT_CHECKED_GCOMPAT:
            return ("symbols were not checked: the loader is not musl's own, and no musl loader and "
                    "libgcompat.so.0 it would preload (gcompat) could be read")
        if kind is NoteKind.GCOMPAT_PRELOADED:
            return (f"the loader is gcompat's: it starts musl's loader with {n.subject} preloaded, so "
                    "symbols are looked up in musl and in libgcompat (versions ignored, as musl does)")
        if kind is NoteKind.PRELOAD_MISSING:
            name = n.subject
            if self.family is LoaderFamily.MUSL:
                return f"LD_PRELOAD names {name}, which musl's loader does not find: it goes on without it"
            return (f"LD_PRELOAD names {name}, which the loader does not find: it goes on without it, after "
                    f"printing \"ERROR: ld.so: object '{name}' from LD_PRELOAD cannot be preloaded (cannot "
                    "open shared object file): ignored.\"")
        if kind is NoteKind.LIBRARIES_NOT_SEARCHED:
            shown = ", ".join(n.items[:3]) + (" ..." if len(n.items) > 3 else "")
            return (f"{len(n.items)} more libraries it needs ({shown}) were not searched for: "
                    f"{MAX_MISSING_SEARCHED} were missing already (glibc's loader stops at the first)")
        if kind is NoteKind.CPU_LEVEL:
            level, baseline = n.items
            name = posixpath.basename(n.subject)
            elsewhere = (f"other CPUs load {baseline}" if baseline else
                         f"on other CPUs glibc finds no {name}, and the program does not start (\"{name}: "
                         f"{GLIBC_NOT_FOUND}\")")
            return (f"{n.subject} is in a glibc-hwcaps subdirectory: glibc (2.33 and later) loads it only on "
                    f"CPUs supporting {level}, so this runs on those; {elsewhere}")
        if kind is NoteKind.BINDING_UNKNOWN:
            return ("glibc binds functions lazily unless the program was linked with -z now: a missing "
                    "function called only through the PLT fails at its first call, not at start; this "
                    "file's relocations could not be read, so every missing symbol is taken to fail at start")
        shown = ", ".join(n.items[:5]) + (" ..." if len(n.items) > 5 else "")
        if len(n.items) == 1:
            return (f"1 undefined symbol ({shown}) is defined by no library it loads: it must come from "
                    "the program that loads it")
        return (f"{len(n.items)} undefined symbols ({shown}) are defined by no library it loads: they "
                "must come from the program that loads it")


def _shells_in(target: Target) -> str:
    have = [p for p in ("/bin/sh", "/bin/bash", "/bin/ash", "/busybox/sh") if target.files.exists(p)]
    return f" The image has: {', '.join(have)}." if have else " The image has no shell at all."


def _shell_permission(shell: Shell, program: str, interp: str) -> str:
    if shell in (Shell.BASH, Shell.OLD_BASH):
        return f"bash: {program}: {interp}: bad interpreter: Permission denied"
    if shell is Shell.ASH:
        return f"sh: {program}: Permission denied"
    if shell is Shell.DASH:
        return f"sh: 1: {program}: Permission denied"
    return NO_SHELL


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


def glibc_not_loadable(view: FileView | None, elf_class: int) -> str:
    """glibc's words for the file its search stopped at (elf/dl-load.c open_verify), from its first
    bytes (measured with real runs: tests/test_damaged_libraries.py). "invalid ELF header" when they are
    not known (a profile) or no other rule applies; "cannot dynamically load executable" and the like are
    not told apart."""
    head = view.head if view is not None else None
    if view is None or head is None or view.size is None:
        return "invalid ELF header"
    if view.size < (64 if elf_class == 64 else 52):  # shorter than its ELF header
        return "file too short"
    if head[:4] != b"\x7fELF":
        return "invalid ELF header"
    order = "<" if head[5] != 2 else ">"
    if elf_class == 64 and len(head) >= 64:
        phoff = struct.unpack_from(order + "Q", head, 32)[0]
        phentsize, phnum = struct.unpack_from(order + "HH", head, 54)
    elif len(head) >= 52:
        phoff = struct.unpack_from(order + "I", head, 28)[0]
        phentsize, phnum = struct.unpack_from(order + "HH", head, 42)
    else:
        return "invalid ELF header"
    if phoff + phentsize * phnum > view.size:  # its program headers are not all in the file
        return "cannot read file data"
    return "invalid ELF header"


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


GLIBC_CANNOT_OPEN = "cannot open shared object file"
GLIBC_NOT_FOUND = f"{GLIBC_CANNOT_OPEN}: No such file or directory"


def glibc_missing_library(program: str, name: str, error: str = GLIBC_NOT_FOUND) -> str:
    return f"{program}: error while loading shared libraries: {name}: {error}"


def glibc_missing_version(program: str, provider: str, version: str, required_by: str) -> str:
    return f"{program}: {provider}: version `{version}' not found (required by {required_by})"


def glibc_undefined_symbol(program: str, obj: str, symbol: str, version: str | None) -> str:
    tail = f", version {version}" if version else ""
    return f"{program}: symbol lookup error: {obj}: undefined symbol: {symbol}{tail}"


MUSL_NOT_FOUND = "No such file or directory"
MUSL_BAD_FILE = "Exec format error"  # Unsure: musl's exact error for a file it cannot map
MUSL_BAD_RELOCATION = "unsupported relocation type"


def musl_missing_library(name: str, error: str, needed_by: str) -> str:
    return f"Error loading shared library {name}: {error} (needed by {needed_by})"


def musl_bad_relocation(path: str) -> str:
    """A library of another machine (same class): musl maps it, then prints one such line per
    relocation, each ending in the relocation type's number."""
    return f"Error relocating {path}: {MUSL_BAD_RELOCATION}"


def musl_missing_symbol(obj: str, symbol: str) -> str:
    return f"Error relocating {obj}: {symbol}: symbol not found"


# --------------------------------------------------------------------------------------------
# Facts in words
# --------------------------------------------------------------------------------------------


def with_article(words: str) -> str:
    """``words`` after 'a' or 'an' as it is read aloud: an x86_64, an aarch64, an i386, an s390x, a riscv64,
    a musl; words that have their article already ("an unknown C library") stay as they are."""
    if words.startswith(("a ", "an ", "no ")):
        return words
    vowel = words[:1].lower() in "aeiox" or words.lower().startswith("s390")
    return f"{'an' if vowel else 'a'} {words}"


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


_APK_ADD = "RUN apk add --no-cache "
_APT_INSTALL = "RUN apt-get update && apt-get install -y "


def package_hint(name: str, target: Target) -> str | None:
    """How to install a well-known library in the target, by its package manager's family."""
    apk, apt = PACKAGES.get(name, (None, None))
    if target.libc is Libc.MUSL and apk:
        return f"install {name} in the image: {_APK_ADD}{apk}"
    if target.libc is Libc.GLIBC and apt:
        if target.files.exists("/usr/bin/apt-get"):
            return f"install {name} in the image: {_APT_INSTALL}{apt}"
        return f"copy {name} into the image from a Debian build stage (Debian package {apt}), " \
            "or use an image that has it"
    return None


def combine_installs(fixes: Sequence[str]) -> list[str]:
    """The fixes with one install line per package manager, where the first one was: the libraries
    and their packages together, each package once (libssl and libcrypto come in one package)."""
    out: list[str] = []
    groups: dict[str, tuple[int, list[str], list[str]]] = {}  # command -> (index in out, names, packages)
    for fix in fixes:
        for command in (_APK_ADD, _APT_INSTALL):
            head, sep, packages = fix.partition(f" in the image: {command}")
            if sep and head.startswith("install ") and head != "install it":
                if command not in groups:
                    groups[command] = (len(out), [], [])
                    out.append(fix)
                _, names, pkgs = groups[command]
                names.append(head[len("install "):])
                pkgs.extend(p for p in packages.split() if p not in pkgs)
                break
        else:
            out.append(fix)
    for command, (i, names, pkgs) in groups.items():
        out[i] = f"install {', '.join(names)} in the image: {command}{' '.join(pkgs)}"
    return out


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


def alpine_image(target: Target, catalogue: Sequence[CatalogueImage]) -> str:
    """The Alpine image to name in a fix: the target itself when it is one, else the catalogue's newest
    for the target's machine (what a bare `alpine` means), else plain `alpine`."""
    if target.name.startswith("alpine:"):
        return target.name
    tags = [image.name for image in catalogue
            if image.name.startswith("alpine:") and image.machine == target.machine]
    return max(tags, key=lambda name: tuple(int(part) if part.isdigit() else -1
                                           for part in name.split(":", 1)[1].split(".")), default="alpine")


def loader_fixes(elf: ElfFacts, target: Target, catalogue: Sequence[CatalogueImage]) -> list[str]:
    """The file needs a loader the image lacks."""
    fixes = static_build_fixes(elf)
    if elf.libc is Libc.MUSL:
        alpine = alpine_image(target, catalogue)
        fixes.append(f"run it on an Alpine image ({alpine}), which has musl's loader")
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


def version_fixes(version: str, provider_highest: str | None, elf: ElfFacts, target: Target,
                  catalogue: Sequence[CatalogueImage]) -> list[str]:
    """A symbol version the image's library is too old for."""
    ns = namespace_of(version)
    fixes: list[str] = []
    if ns == "GLIBC_":
        have = target.libc_version or (provider_highest or "")[len(ns):] or "the image's"
        example = "" if target.name.startswith((".", "/")) else f", e.g. FROM {target.name} AS build"
        fixes.append(f"build in an image whose glibc is <= {have} (the run image's own release{example}), "
                     "so the program asks for no newer symbols")
        newer = _image_with(version, 1, target, catalogue)
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
        newer = _image_with(version, 2, target, catalogue) if ns == "GLIBCXX_" else None
        if newer:
            fixes.append(f"or run it on a newer image: {newer}")
    else:
        fixes.append("install the library version the program was built against, or rebuild it "
                     "against the image's version")
    return fixes


def _image_with(version: str, column: int, target: Target, catalogue: Sequence[CatalogueImage]) -> str | None:
    """The catalogue's image with the oldest glibc that has ``version`` (column 1: a GLIBC_ version,
    2: a GLIBCXX_ node of its libstdc++), one of the target's own distribution first (bullseye ->
    bookworm rather than ubuntu)."""
    ns = namespace_of(version)
    need = version_key(version, ns)
    if need is None:
        return None
    family = target.name.split(":", 1)[0]
    rows = []
    for image in catalogue:
        glibc = version_key("GLIBC_" + (image.libc_version or ""), "GLIBC_")
        if image.machine != target.machine or image.libc is not Libc.GLIBC or glibc is None:
            continue
        have = glibc if column == 1 else version_key(image.glibcxx or "", "GLIBCXX_")
        rows.append((image.name.split(":", 1)[0] != family, glibc, image.name, have))
    for _, _, name, have in sorted(rows, key=lambda row: (row[0], row[1])):
        if have is not None and have >= need:
            return name
    return None


def arch_fixes(elf: ElfFacts, target: Target, host: str) -> list[str]:
    """The file is for another CPU; ``host`` is the machine the user runs on."""
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
            fixes.append(f"cross-compile for the image with {with_article(machine)} compiler ({gcc})")
    fixes.append(f"build the image for its platform: docker buildx build --platform linux/{arch}")
    emulated = "" if elf.machine == host else " (on this host it runs under emulation)"
    fixes.append(f"or run an image for the file's platform: --platform linux/{elf.docker_arch}{emulated}")
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
