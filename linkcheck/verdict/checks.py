"""Will this file start on that image? The decision, in the order the kernel and then the loader
would hit each problem: format, architecture, interpreter, libraries, symbol versions, symbols.

Every problem found is listed; the first one decides the outcome and the message. ``check`` and
``check_matrix`` are pure (targets are read only through ``TargetFiles``); ``check_path`` is the
convenience entry that reads the file and loads targets by name.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from linkcheck.facts.arch import libc_of_interpreter
from linkcheck.model import (
    Analysis,
    ElfFacts,
    ElfType,
    ExecError,
    FileFormat,
    KernelRefusal,
    Libc,
    Linkage,
    LoadedLibrary,
    Outcome,
    Problem,
    RuntimeNeeds,
    ScriptFacts,
    Target,
    TargetFiles,
    Verdict,
)
from linkcheck.verdict import explain
from linkcheck.verdict.explain import Shell
from linkcheck.verdict.resolve import MUSL_BAD_RELOCATION, LoaderFamily, Resolution, resolve
from linkcheck.verdict.runtime import runtime_findings
from linkcheck.verdict.runtime_words import worded

# (file, image) pairs the kernel runs: 32-bit x86 on x86-64 (compat mode), and either 32-bit ARM
# float ABI on the other (the kernel does not look at it; the loader and libraries do). 32-bit ARM on
# arm64 depends on the CPU (many arm64 servers have no AArch32), so it is not assumed.
_COMPAT = {("i386", "x86_64"), ("armel", "armhf"), ("armhf", "armel")}

_SHEBANG_FIX = "start the file with a #! line naming its interpreter, e.g. #!/bin/sh"

_NOT_PROGRAM = {
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
}


@dataclass
class _Findings:
    """Problems and their words, gathered stage by stage for one verdict."""

    problems: list[Problem] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # what gets printed, for the first problem kind
    shell_message: str = ""

    def add(self, problem: Problem, why: str, fixes: Sequence[str]) -> None:
        self.problems.append(problem)
        self.explanation.append(why)
        self.fixes.extend(f for f in fixes if f not in self.fixes)

    def first_is(self, kind: Outcome) -> bool:
        return bool(self.problems) and self.problems[0].kind is kind


def check(
    analysis: Analysis,
    target: Target,
    *,
    origin_files: TargetFiles | None = None,
    install_dir: str = "/app",
    needs: RuntimeNeeds | None = None,
) -> Verdict:
    """Predict what happens when ``analysis``'s file, installed in ``install_dir``, is started on
    ``target``. ``origin_files`` is the file's own host directory (for libraries beside it).
    ``needs`` (``linkcheck.facts.needs``), when given, are judged too: the verdict's ``findings``
    say what fails after the start."""
    install_dir = "/" + posixpath.normpath("/" + install_dir).lstrip("/")
    program = posixpath.join(install_dir, posixpath.basename(analysis.path) or "a.out")
    shell = explain.shell_of(target)
    found = _Findings()
    if analysis.format is FileFormat.SCRIPT and analysis.script is not None:
        _check_script(analysis.script, target, program, shell, found)
    elif analysis.format is FileFormat.ELF and analysis.elf is not None:
        loaded = _check_elf(analysis.elf, target, program, shell, found, origin_files, install_dir,
                            analysis.kernel_refusal)
        verdict = _verdict(target, found, loaded)
        if needs is not None and needs.needs:
            findings = runtime_findings(needs, analysis.elf, target)
            verdict = dataclasses.replace(verdict, findings=tuple(worded(f, target) for f in findings))
        if program.endswith(".node") and analysis.elf.interpreter is None:
            from linkcheck.verdict.node import addon_verdict  # node dlopen()s it: its words, its ABI

            return addon_verdict(verdict, analysis.elf, target, program)
        if program.endswith(".so") and ("/site-packages/" in program or "/dist-packages/" in program):
            from linkcheck.verdict.python import module_verdict  # the image's python imports it

            return module_verdict(verdict, analysis.elf, target, program)
        return verdict
    elif analysis.format in (FileFormat.JAR, FileFormat.JAVA_CLASS) and analysis.java is not None:
        from linkcheck.verdict.java import check_java  # the image's java runs it, not the kernel

        return check_java(analysis, target, program)
    elif analysis.format is FileFormat.ELF and analysis.kernel_refusal is not None:
        _kernel_refuses(analysis.kernel_refusal, target, program, shell, found)
    else:
        _not_runnable(_NOT_PROGRAM.get(analysis.format, "not a program"), analysis.format.value,
                      program, shell, found, text=analysis.format in (FileFormat.TEXT, FileFormat.EMPTY))
    return _verdict(target, found, ())


def check_matrix(
    analysis: Analysis,
    targets: Sequence[Target],
    *,
    origin_files: TargetFiles | None = None,
    install_dir: str = "/app",
    needs: RuntimeNeeds | None = None,
) -> tuple[Verdict, ...]:
    """One verdict per target, in the order given."""
    return tuple(check(analysis, t, origin_files=origin_files, install_dir=install_dir, needs=needs)
                 for t in targets)


def check_path(path_or_analysis: str | os.PathLike[str] | Analysis, target: str | Target,
               platform: str | None = None) -> Verdict:
    """Analyse a path (or take an Analysis), load the target by name when given one, and check,
    counting libraries in the file's own host directory as installed beside it in /app."""
    analysis = _analysis_of(path_or_analysis)
    return check(analysis, _target_of(target, platform), origin_files=_origin_files(analysis),
                 needs=_needs_of(analysis))


def check_matrix_path(path_or_analysis: str | os.PathLike[str] | Analysis,
                      targets: Sequence[str | Target] | None = None,
                      platform: str | None = None) -> tuple[Verdict, ...]:
    """``check_path`` on several targets; by default every built-in image for the file's machine
    (for a script or non-ELF file: ``platform``'s, else this host's)."""
    analysis = _analysis_of(path_or_analysis)
    if targets is None:
        from linkcheck.image.target import builtin_targets

        chosen: list[Target] = list(builtin_targets(analysis.machine or platform))
    else:
        chosen = [_target_of(t, platform) for t in targets]
    return check_matrix(analysis, chosen, origin_files=_origin_files(analysis), needs=_needs_of(analysis))


def _analysis_of(path_or_analysis: str | os.PathLike[str] | Analysis) -> Analysis:
    if isinstance(path_or_analysis, Analysis):
        return path_or_analysis
    from linkcheck.facts.reader import analyze

    return analyze(os.fspath(path_or_analysis))


def _needs_of(analysis: Analysis) -> RuntimeNeeds | None:
    """What the file will look for after it starts, read from the file again (analyze never does)."""
    if analysis.elf is None or not os.path.isfile(analysis.path):
        return None
    from linkcheck.facts.needs import read_needs

    return read_needs(analysis.path, analysis.elf)


def _target_of(target: str | Target, platform: str | None) -> Target:
    if isinstance(target, Target):
        return target
    from linkcheck.image.target import load_target

    return load_target(target, platform=platform)


def _origin_files(analysis: Analysis) -> TargetFiles | None:
    """The file's host directory, seen at /app, when linkcheck.image.rootfs provides that view."""
    host_dir = os.path.dirname(os.path.abspath(analysis.path))
    if not os.path.isdir(host_dir):
        return None
    try:
        from linkcheck.image import rootfs
    except ImportError:
        return None
    make = getattr(rootfs, "host_dir_files", None)
    return None if make is None else cast(TargetFiles, make(host_dir, "/app"))


# --------------------------------------------------------------------------------------------
# Not a program
# --------------------------------------------------------------------------------------------


def _not_runnable(why: str, subject: str, program: str, shell: Shell, found: _Findings,
                  *, text: bool = False, fixes: Sequence[str] = ()) -> None:
    found.add(Problem(Outcome.NOT_EXECUTABLE, subject, program, why),
              f"{posixpath.basename(program)} is {why}. execve fails with ENOEXEC: exec format error.",
              fixes or ([_SHEBANG_FIX] if text else []))
    found.messages.append(explain.docker_exec(program, "exec format error"))
    if text and shell is not Shell.NONE:
        found.shell_message = f"(a shell runs {program} as a shell script itself, since it has no #! line)"
    else:
        found.shell_message = explain.shell_exec_format(shell, program)


def _kernel_refuses(r: KernelRefusal, target: Target, program: str, shell: Shell, found: _Findings) -> None:
    """An ELF file execve refuses on any image (facts.kernel): damaged or not written by a linker."""
    name = posixpath.basename(program)
    why = (f"The kernel refuses {name} before it looks at anything in {target.name}: {r.reason} "
           f"({r.rule}). execve fails with {r.error.value}: {r.error.strerror}.")
    found.add(Problem(Outcome.NOT_EXECUTABLE, r.error.value, program, r.reason), why,
              [f"rebuild {name}, or copy it again: the file is damaged or was not written by a linker"])
    found.messages.append(explain.docker_exec(program, r.error.strerror))
    if r.error is ExecError.ENOEXEC:
        found.shell_message = explain.shell_exec_format(shell, program)
    else:  # the shells print strerror as the C library words it (measured: bash, dash, busybox ash)
        text = r.error.strerror.capitalize()
        found.shell_message = {
            Shell.BASH: f"bash: {program}: {text}", Shell.OLD_BASH: f"bash: {program}: {text}",
            Shell.DASH: f"sh: 1: {program}: {text}", Shell.ASH: f"sh: {program}: {text}",
        }.get(shell, explain.NO_SHELL)


# --------------------------------------------------------------------------------------------
# Scripts
# --------------------------------------------------------------------------------------------


def _check_script(s: ScriptFacts, target: Target, program: str, shell: Shell, found: _Findings) -> None:
    files = target.files
    interp = s.interpreter
    name = posixpath.basename(program)
    if s.truncated:
        found.notes.append("the #! line is longer than the kernel reads (256 bytes since Linux 5.1): "
                           "the interpreter path or argument is cut there")
    cr = interp.endswith("\r")
    if not files.exists(interp):
        shown = interp.replace("\r", "\\r")
        if cr:
            why = (f"{name}'s #! line ends in CR LF (Windows line endings), so the kernel looks for an "
                   f"interpreter named '{shown}' (with a carriage return), which {target.name} does not "
                   "have.")
            fixes = explain.crlf_fixes(name)
        else:
            why = (f"{name} starts with '#!{interp}', so the kernel runs {interp}, which {target.name} "
                   f"does not have; it reports that as 'no such file or directory' for the script itself."
                   f"{_shells_in(target)}")
            fixes = explain.script_interpreter_fixes(interp, target)
        detail = f"#! interpreter {shown} is not in the image"
        found.add(Problem(Outcome.MISSING_INTERPRETER, interp, program, detail), why, fixes)
        found.messages.append(explain.docker_exec(program, "no such file or directory"))
        found.shell_message = explain.shell_bad_interpreter(shell, program, interp)
        return
    if not files.is_executable(interp):
        why = f"{interp} exists in {target.name} but is not executable: execve fails with EACCES."
        found.add(Problem(Outcome.MISSING_INTERPRETER, interp, program, f"{interp} is not executable"), why,
                  [f"make {interp} executable in the image (chmod +x)"])
        found.messages.append(explain.docker_exec(program, "permission denied"))
        found.shell_message = _shell_permission(shell, program, interp)
        return
    if s.program and posixpath.basename(interp) == "env":
        _check_env(s.program, interp, target, program, found)
    elif s.crlf:
        found.notes.append(f"the #! line ends in CR LF: {interp} is found, but its argument ends in a "
                           "carriage return, which the interpreter may reject")
    if not found.problems:
        found.notes.append(f"{interp}'s own libraries are not checked")


def _check_env(wanted: str, env: str, target: Target, program: str, found: _Findings) -> None:
    """#!/usr/bin/env X: env runs, then looks X up on PATH."""
    places = [wanted] if "/" in wanted else [posixpath.join(d, wanted) for d in target.path_env]
    if any(target.files.exists(p) and target.files.is_executable(p) for p in places):
        return
    shown = wanted.replace("\r", "\\r")
    if wanted.endswith("\r"):
        why = (f"the #! line ends in CR LF (Windows line endings), so env looks for a program named "
               f"'{shown}' (with a carriage return) on PATH, and finds none.")
        fixes = explain.crlf_fixes(posixpath.basename(program))
    else:
        path = ":".join(target.path_env) or "(empty)"
        why = (f"{posixpath.basename(program)} runs '{env} {wanted}'; env looks for {wanted} on PATH "
               f"({path}), and {target.name} has no {wanted} there.{_shells_in(target)}")
        fixes = explain.script_interpreter_fixes(wanted, target)
    problem = Problem(Outcome.MISSING_INTERPRETER, wanted, program, f"env finds no {shown} on PATH")
    found.add(problem, why, fixes)
    line = explain.env_not_found(env, wanted, explain.busybox_env(target.files))
    found.messages.append(line)
    found.shell_message = line


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
    return explain.NO_SHELL


# --------------------------------------------------------------------------------------------
# ELF files
# --------------------------------------------------------------------------------------------


def _check_elf(e: ElfFacts, target: Target, program: str, shell: Shell, found: _Findings,
               origin_files: TargetFiles | None, install_dir: str,
               refusal: KernelRefusal | None = None) -> tuple[LoadedLibrary, ...]:
    name = posixpath.basename(program)
    if e.elf_type in (ElfType.REL, ElfType.CORE, ElfType.OTHER):
        what = {ElfType.REL: "an object file (ET_REL): link it into a program first",
                ElfType.CORE: "a core dump", ElfType.OTHER: "an ELF file of an unknown type"}[e.elf_type]
        _not_runnable(what, e.elf_type.value, program, shell, found)
        return ()
    # 1. The CPU: the kernel checks the ELF header before anything else.
    if e.machine != target.machine and (e.machine, target.machine) not in _COMPAT:
        why = (f"{name} is built for {e.machine} ({e.elf_class}-bit, linux/{e.docker_arch}); {target.name} "
               f"is an image for {target.machine} (linux/{target.docker_arch}). The kernel refuses a program "
               f"for another CPU: exec format error. To run it as it is, use an image for its platform: "
               f"--platform linux/{e.docker_arch}.")
        found.add(Problem(Outcome.WRONG_ARCHITECTURE, e.machine, program,
                          f"built for {e.machine}, the image is {target.machine}"),
                  why, explain.arch_fixes(e, target))
        found.messages.append(explain.docker_exec(program, "exec format error"))
        found.shell_message = explain.shell_exec_format(shell, program)
        found.notes.append("a host with QEMU binfmt handlers (Docker Desktop, qemu-user-static) runs it "
                           "under emulation instead")
        return ()  # every library would be of the wrong machine too: nothing more to learn
    if e.machine != target.machine:
        found.notes.append(f"a {e.machine} program on a {target.machine} image: the kernel runs it in "
                           "compat mode, which most distribution kernels enable")
    # 1b. The kernel's checks of the program headers and PT_INTERP, after the machine's.
    if refusal is not None:
        _kernel_refuses(refusal, target, program, shell, found)
        return ()
    # 2. The program interpreter (or, for a shared library, a loader to load it at all).
    is_library = e.interpreter is None and e.elf_type is ElfType.DYN and e.linkage not in (
        Linkage.STATIC, Linkage.STATIC_PIE)
    if e.interpreter is not None:
        if not target.files.exists(e.interpreter):
            _missing_interpreter(e, target, program, shell, found)
    elif is_library:
        # No interpreter of its own: whatever loader the image has would load it, with its own rules
        # (musl loads a glibc library: libc.so.6 is itself, versions are ignored; symbols decide).
        libc = explain.libc_words(e.libc)
        if not target.loaders:
            why = (f"{name} is a shared library ({libc}): it cannot be loaded, since {target.name} has no "
                   "dynamic loader at all, so no program there can load it.")
            found.add(Problem(Outcome.MISSING_INTERPRETER, "dynamic loader", program,
                              "cannot be loaded: the image has no dynamic loader"),
                      why, explain.loader_fixes(e, target))
            found.messages.append(f"{program}: cannot be loaded: the image has no dynamic loader")
            found.shell_message = found.messages[-1]
        elif not _has_loader_for(e.libc, target):
            found.notes.append(f"a {libc} library, loaded here by the image's "
                               f"{explain.libc_words(target.libc)} loader")
        found.notes.append("a shared library is judged as loaded into a program in the image (executing it "
                           "directly is meaningless: it typically crashes); messages name it where the "
                           "program's name would be")
    else:
        return ()  # static or static-pie: nothing else is loaded
    if not e.needed:
        return ()
    has_interp = e.interpreter is not None and target.files.exists(e.interpreter)
    # 3. Libraries, 4. symbol versions, 5. symbols.
    res = resolve(e, target, origin_dir=install_dir, origin_files=origin_files, program=program)
    _missing_libraries(e, target, program, res, found)
    if not target.loaders and not has_interp:
        # Nothing would be loaded at all; the libraries are still listed, so that a fix which only adds
        # a loader (or a libc) is not mistaken for the whole fix (Rust on distroless/static: libgcc_s).
        found.notes.append(f"{target.name} has no dynamic loader; the libraries listed are missing too")
        return ()
    if res.family is LoaderFamily.GLIBC and target.libc is Libc.GLIBC:
        _versions(e, target, program, res, found)
    elif e.version_needs and res.family is LoaderFamily.MUSL and not found.problems:
        found.notes.append("musl's loader ignores symbol versions: they were not checked")
    _symbols(e, program, res, found, is_library=is_library)
    return res.loaded


def _has_loader_for(libc: Libc, target: Target) -> bool:
    if not target.loaders:
        return False
    if libc in (Libc.NONE, Libc.UNKNOWN) or target.libc is libc:
        return True
    return any(libc_of_interpreter(p) is libc for p in target.loaders)


def _missing_interpreter(e: ElfFacts, target: Target, program: str, shell: Shell, found: _Findings) -> None:
    interp = e.interpreter or ""
    name = posixpath.basename(program)
    file_libc = libc_of_interpreter(interp)
    libc = explain.libc_words(file_libc if file_libc is not Libc.UNKNOWN else e.libc)
    has = explain.image_loaders(target)
    image_libc = explain.libc_words(target.libc, target.libc_version)
    why = (f"{name} is dynamically linked for {libc}: the kernel must first start its loader {interp} "
           f"(PT_INTERP), which {target.name} does not have. The image has {has} ({image_libc}). "
           f"The kernel reports a missing loader as 'no such file or directory' for the program itself, "
           f"though {program} is there.")
    found.add(Problem(Outcome.MISSING_INTERPRETER, interp, program, f"loader {interp} is not in the image"),
              why, explain.loader_fixes(e, target))
    found.messages.append(explain.docker_exec(program, "no such file or directory"))
    found.shell_message = explain.shell_not_found(shell, program)


def _missing_libraries(e: ElfFacts, target: Target, program: str, res: Resolution, found: _Findings) -> None:
    first = not found.problems
    gone = e.interpreter if e.interpreter and not target.files.exists(e.interpreter) else None
    for m in res.missing:
        if gone is not None and m.name in (gone, posixpath.basename(gone)):
            continue  # a DT_NEEDED naming the missing loader itself: already the first problem
        looked = [s.directory for s in m.search if s.result != "skipped"]
        where = f" The loader looked in: {', '.join(looked)}." if looked else ""
        why = f"{m.needed_by} needs {m.name}, which {target.name} does not have where the loader looks."
        detail = f"{m.name}: {m.error}"
        problem = Problem(Outcome.MISSING_LIBRARY, m.name, m.needed_by, detail, search=m.search)
        # Behind a missing loader, the loader's fixes (another base, a static build) are the fixes.
        fixes = () if gone is not None else explain.library_fixes(m.name, e, target)
        found.add(problem, why + where, fixes)
        if not first:
            continue
        if res.family is LoaderFamily.MUSL:  # musl reports every missing library, then exits
            if m.error == MUSL_BAD_RELOCATION:
                found.messages.append(explain.musl_bad_relocation(m.shown))
            else:
                found.messages.append(explain.musl_missing_library(m.name, m.error, m.needed_by))
        elif not found.messages:  # glibc stops at the first
            found.messages.append(explain.glibc_missing_library(program, m.shown or m.name, m.error))
    if first and found.problems:
        found.shell_message = "\n".join(found.messages)


def _versions(e: ElfFacts, target: Target, program: str, res: Resolution, found: _Findings) -> None:
    first = not found.problems
    worst: dict[str, list[tuple[str, str | None]]] = {}  # namespace -> (missing version, provider's highest)
    for need in e.version_needs:
        provider = res.provider(need.library)
        if provider is None:
            continue  # the library is missing (already a problem) or was not loaded
        if not provider.version_definitions:
            found.notes.append(f"{provider.path} records no symbol versions (or they are not known): the "
                               f"versions {program} needs from {need.library} were not checked")
            continue
        for version in need.versions:
            if version in provider.version_definitions:
                continue
            ns = explain.namespace_of(version)
            top = explain.highest(provider.version_definitions, ns)
            symbols = tuple(s.name for s in e.imports if s.version == version)
            for_what = f" (for {explain.quote_list(symbols)})" if symbols else ""
            image = ""
            if ns == "GLIBC_" and target.libc_version:
                image = f"; the image's glibc is {target.libc_version}"
            most = top or f"no {ns} version"
            why = (f"{posixpath.basename(program)} needs {version} from {need.library}{for_what}, but "
                   f"{provider.path} in {target.name} provides at most {most}{image}.")
            found.add(Problem(Outcome.MISSING_SYMBOL_VERSION, version, program,
                              f"{provider.path} has no {version} (highest {top})", symbols=symbols,
                              provider=provider.path, provider_highest=top),
                      why, ())
            worst.setdefault(ns, []).append((version, top))
            if first:
                found.messages.append(explain.glibc_missing_version(program, provider.path, version, program))
    for ns, missing in worst.items():  # fixes for the highest missing version of each namespace only
        version, top = max(missing, key=lambda m: explain.version_sort_key(m[0], ns))
        found.fixes.extend(f for f in explain.version_fixes(version, top, e, target) if f not in found.fixes)
    if first and found.problems:
        found.shell_message = "\n".join(found.messages)


def _symbols(e: ElfFacts, program: str, res: Resolution, found: _Findings, *, is_library: bool) -> None:
    """Imports nobody exports, when every loaded library's exports are known.

    A shared library (an extension module, a plugin) may leave unversioned symbols to the program that
    loads it (Python's PyList_New for an extension module): those are a note, not a problem. A versioned
    import names its library, so a missing one is a problem for a library too."""
    if res.missing:
        return  # what a missing library would have provided cannot be judged
    musl = res.family is LoaderFamily.MUSL
    interp = res.interpreter
    if musl and interp is None:
        return  # no loader to load anything: the missing interpreter is the problem already reported
    if musl and interp is not None and not posixpath.basename(interp.path).startswith("ld-musl"):
        # gcompat: a glibc-named shim loader that preloads libgcompat over musl; not modelled.
        found.notes.append("symbols were not checked: the loader is not musl's own (gcompat?)")
        return
    files = [f.file for f in res.found if f.loaded.path is not None]
    if interp is not None:
        files.append(interp)
    if not files or any(f is None or f.exports is None for f in files):
        return
    exports: set[str] = set()
    for f in files:
        if f is not None and f.exports is not None:
            exports |= f.exports
    reported = {p.subject for p in found.problems if p.kind is Outcome.MISSING_SYMBOL_VERSION}
    first = not found.problems
    missing = [s for s in e.imports
               if not s.weak and s.version not in reported and s.name not in exports
               and f"{s.name}@{s.version}" not in exports]
    if is_library:
        from_program = [s.name for s in missing if s.version is None]
        if from_program:
            shown = ", ".join(from_program[:5]) + (" ..." if len(from_program) > 5 else "")
            found.notes.append(f"{len(from_program)} undefined symbols ({shown}) are defined by no library "
                               "it loads: they must come from the program that loads it")
        missing = [s for s in missing if s.version is not None]
    for s in missing:
        why = f"{posixpath.basename(program)} uses {s.name}, which no library loaded in the image defines."
        found.add(Problem(Outcome.MISSING_SYMBOL, s.name, program, f"undefined symbol {s.name}"), why,
                  ["build against the same library versions the image has"])
        if first and (musl or not found.messages):
            found.messages.append(explain.musl_missing_symbol(program, s.name) if musl
                                  else explain.glibc_undefined_symbol(program, program, s.name, s.version))
    if missing and not musl:
        found.notes.append("glibc binds functions lazily unless the program was linked with -z now: a "
                           "missing function fails only when first called; a missing data symbol fails at "
                           "start")
    if first and missing:
        found.shell_message = "\n".join(found.messages)


def _verdict(target: Target, found: _Findings, loaded: tuple[LoadedLibrary, ...]) -> Verdict:
    outcome = found.problems[0].kind if found.problems else Outcome.RUNS
    return Verdict(
        target=target.name,
        runs=not found.problems,
        outcome=outcome,
        problems=tuple(found.problems),
        message="\n".join(found.messages),
        shell_message=found.shell_message,
        explanation=" ".join(found.explanation),
        fixes=tuple(found.fixes),
        loaded=loaded,
        notes=tuple(found.notes),
    )
