"""Python: a virtualenv copied from a build stage, and extension modules, against the image's Python.

A venv's ``bin/python`` is a symlink to the interpreter it was made with: an image without that file
fails before Python starts (execve of the dangling link: ENOENT). Python imports an extension module
only under the file names its own version gives them (``.cpython-312-x86_64-linux-gnu.so``, ``.abi3.so``,
``.so``): a module built for 3.11 is never looked at by 3.12 (ModuleNotFoundError), nor one named for the
other libc (``-linux-gnu`` on a musl CPython, ``-linux-musl`` on glibc's). An abi3 or untagged glibc
(manylinux) module on a musl Python is one pip there would never have installed. Words are in
python_words.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re

from linkcheck.facts.venv import VenvFacts
from linkcheck.model import ElfFacts, Libc, Outcome, Problem, RuntimeKind, Target, Verdict
from linkcheck.verdict import python_words as words
from linkcheck.verdict.explain import docker_exec, shell_not_found, shell_of

_TAG = re.compile(r"\.cpython-3(\d+)[a-z]*-([^.]+)\.so$")
# The libc a module's platform triplet names. CPython 3.11 built on musl names its modules
# x86_64-linux-musl (its configure.ac turns linux-gnu into linux-musl) and imports no -linux-gnu file, nor
# glibc's CPython a -linux-musl one: proven by real imports (tests/test_python_musl_runs.py). Older
# CPythons' musl naming is not known here, so the rule starts at 3.11.
_TRIPLET_LIBC = ((re.compile(r"-linux-musl[a-z0-9]*$"), Libc.MUSL),
                 (re.compile(r"-linux-gnu[a-z0-9]*$"), Libc.GLIBC))
TRIPLET_FROM_RELEASE = 11


def triplet_libc(program: str) -> Libc | None:
    """The libc an extension module's file name is for (``_x.cpython-311-x86_64-linux-musl.so``: musl),
    or None for abi3 and untagged modules, which any CPython of the platform imports."""
    m = _TAG.search(posixpath.basename(program))
    if m is None:
        return None
    return next((libc for pattern, libc in _TRIPLET_LIBC if pattern.search(m[2])), None)


def is_extension_module(program: str) -> bool:
    return program.endswith(".so") and ("/site-packages/" in program or "/dist-packages/" in program)


def module_name(program: str) -> str:
    """"/venv/lib/python3.11/site-packages/pkg/_x.cpython-311-x86_64-linux-gnu.so" -> "pkg._x"."""
    rel = re.split(r"/(?:site|dist)-packages/", program, maxsplit=1)[-1]
    head, _, base = rel.rpartition("/")
    name = base.split(".", 1)[0]
    return f"{head.replace('/', '.')}.{name}" if head else name


def module_verdict(verdict: Verdict, elf: ElfFacts, target: Target, program: str) -> Verdict:
    """The loader's verdict on an extension module, with what the image's Python does first: find it
    by its file name (or not), and whether pip there would have installed its build at all."""
    python = target.runtime(RuntimeKind.PYTHON)
    if python is None:
        return verdict
    problems = list(verdict.problems)
    notes = list(verdict.notes)
    message, why = verdict.message, verdict.explanation
    fixes = list(verdict.fixes)
    m = _TAG.search(posixpath.basename(program))
    name = module_name(program)
    if m is not None and int(m[1]) != python.release:
        problem = Problem(Outcome.PYTHON_MISMATCH, f"cpython-3{m[1]}", program,
                          f"built for CPython 3.{m[1]}; the image's python is {python.version}")
        problems.insert(0, problem)  # import never reaches the loader: this comes first
        message = words.module_not_found(name)
        why = (f"{posixpath.basename(program)} is built for CPython 3.{m[1]} (its file name says "
               f"cpython-3{m[1]}); {target.name}'s python is {python.version}, which imports only "
               f"cpython-3{python.release}, abi3 and untagged modules: `import {name}` never looks at this "
               f"file. {why}").strip()
        fixes.insert(0, words.same_python_fix(target.name, python.release, m[1]))
    elif (built := triplet_libc(program)) is not None and target.libc in (Libc.GLIBC, Libc.MUSL) \
            and built is not target.libc and python.release >= TRIPLET_FROM_RELEASE:
        problems.insert(0, Problem(Outcome.PYTHON_MISMATCH, f"linux-{words.triplet_word(built)}", program,
                                   f"named for a {built.value} CPython; the image's python is a "
                                   f"{target.libc.value} build"))
        message = words.module_not_found(name)
        why = (f"{posixpath.basename(program)} is named for a {built.value} CPython (its file name says "
               f"linux-{words.triplet_word(built)}); {target.name}'s python is a {target.libc.value} build, "
               f"which imports only its own linux-{words.triplet_word(target.libc)}, abi3 and untagged "
               f"modules: `import {name}` never looks at this file. {why}").strip()
        fixes.insert(0, words.musl_fix(target.name) if target.libc is Libc.MUSL
                     else words.glibc_fix(target.name))
    elif elf.libc is Libc.GLIBC and target.libc is Libc.MUSL:
        problems.append(Problem(Outcome.PYTHON_MISMATCH, "manylinux", program,
                                "a glibc (manylinux) build on a musl Python"))
        why = " ".join(x for x in (why, (
            f"{posixpath.basename(program)} is built for glibc (a manylinux wheel's module): pip on "
            f"{target.name} (musl) would not have installed that build, and musl's loader resolves its "
            "glibc symbols only where musl has the same ones.")) if x)
        fixes.insert(0, words.musl_fix(target.name))
        if not verdict.problems:
            message = words.manylinux_on_musl(name)
    if verdict.problems and problems[0] is verdict.problems[0]:
        # The loader decides: import is a dlopen(), and Python raises its dlerror() text as ImportError.
        from linkcheck.verdict.node import dlopen_error

        message = words.import_error(dlopen_error(verdict.problems[0], verdict.message, program, target))
    if problems == list(verdict.problems) and message == verdict.message:
        return verdict
    return dataclasses.replace(verdict, runs=False, outcome=problems[0].kind, problems=tuple(problems),
                               message=message, shell_message=message, explanation=why,
                               fixes=tuple(dict.fromkeys(fixes)), notes=tuple(notes))


def check_venv(venv: VenvFacts, target: Target, install_dir: str = "/app") -> Verdict:
    """`LOCATION/bin/python` started in the image: is the interpreter the venv links to there, and is
    it the Python the venv was made for?"""
    location = venv.location or install_dir
    program = posixpath.join(location, "bin/python")
    python = target.runtime(RuntimeKind.PYTHON)
    have = (f"Its python is {python.command} (Python {python.version})." if python is not None
            else "It has no python on PATH.")
    made = f"Python {venv.version}" if venv.version else "its Python"
    link = venv.python_link
    fixes = [words.build_stage_fix(target.name)]
    if python is not None and venv.minor is not None and venv.minor != python.release:
        fixes.append(words.venv_python_fix(venv.minor))
    if link is not None and not (target.files.exists(link) and target.files.is_executable(link)):
        why = (f"{program} is a symlink to {link}, the interpreter the venv was made with ({made}); "
               f"{target.name} has no {link}, so starting {program} fails with ENOENT before Python runs. "
               f"{have}")
        message = docker_exec(program, "no such file or directory")
        return Verdict(target.name, False, Outcome.MISSING_INTERPRETER, (Problem(
            Outcome.MISSING_INTERPRETER, link, program, f"bin/python -> {link}, which the image lacks"),),
            message, shell_not_found(shell_of(target), program), why, tuple(fixes))
    if python is not None and venv.minor is not None and venv.minor != python.release:
        why = (f"the venv is for Python 3.{venv.minor} (lib/python3.{venv.minor}/site-packages, cpython-3"
               f"{venv.minor} modules); {target.name}'s python is {python.version}: it does not read that "
               "site-packages, so every installed package is missing.")
        return Verdict(target.name, False, Outcome.PYTHON_MISMATCH, (Problem(
            Outcome.PYTHON_MISMATCH, f"Python 3.{venv.minor}", program,
            f"a Python 3.{venv.minor} venv; the image's python is {python.version}"),),
            "", "", why, tuple(fixes))
    return Verdict(target.name, True, Outcome.RUNS, (), "", "",
                   f"{program} -> {link or 'its python'}, which the image has.", ())
