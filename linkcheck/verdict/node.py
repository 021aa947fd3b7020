"""Node.js native addons (``*.node``): what `require()` does with one in the image.

An addon is a shared library that node loads with dlopen(): the image's loader decides first (its verdict
is the library verdict of linkcheck.verdict.checks), and node reports the loader's dlerror() text after
"Error: ". Then node registers the module: an addon built on Node-API exports ``napi_register_module_v1``
and loads on any Node with that API; any other addon names the ABI it was compiled for
(``node_register_module_v115``), and node refuses it unless that is its own NODE_MODULE_VERSION. Symbols
node itself exports to addons (``napi_*``, libuv, V8) are left to the runtime, as the library verdict
already leaves a host program's symbols.
"""

from __future__ import annotations

import dataclasses
import re

from linkcheck.model import ElfFacts, Libc, Outcome, Problem, RuntimeKind, Target, Verdict
from linkcheck.verdict import node_words as words

_ABI_EXPORT = re.compile(r"node_register_module_v(\d+)")


def addon_abis(elf: ElfFacts) -> tuple[int, ...]:
    """The NODE_MODULE_VERSIONs an addon says it was built for; () for Node-API or unknown addons."""
    return tuple(sorted({int(m[1]) for e in elf.exports if (m := _ABI_EXPORT.fullmatch(e.name))}))


def is_node_api(elf: ElfFacts) -> bool:
    return any(e.name.startswith("napi_register_module_v") for e in elf.exports)


def addon_verdict(verdict: Verdict, elf: ElfFacts, target: Target, program: str) -> Verdict:
    """The library verdict of an addon at ``program``, in node's words, with node's own check of the
    module version."""
    node = target.runtime(RuntimeKind.NODE)
    notes = list(verdict.notes)
    problems = list(verdict.problems)
    message = verdict.message
    explanation = verdict.explanation
    fixes = list(verdict.fixes)
    if problems:
        first = problems[0]
        message = words.require_error(dlopen_error(first, verdict.message, program, target))
        if elf.libc is not target.libc and target.libc in (Libc.GLIBC, Libc.MUSL):
            fixes.insert(0, words.libc_fix(target.libc))
    abis = addon_abis(elf)
    if node is None:
        notes.append(f"{target.name} has no node on PATH: nothing there would load this addon")
    elif abis and node.abi is not None and node.abi not in abis and not is_node_api(elf):
        built = abis[0]
        text = words.module_version_error(program, built, node.abi)
        problems.append(Problem(Outcome.NODE_MODULE_VERSION, f"NODE_MODULE_VERSION {built}", program,
                                f"built for NODE_MODULE_VERSION {built}; the image's node {node.version} "
                                f"requires {node.abi}"))
        explanation = " ".join(x for x in (explanation, (
            f"The addon is not built on Node-API: it exports node_register_module_v{built}, so only a "
            f"Node.js "
            f"with NODE_MODULE_VERSION {built} loads it, and {target.name}'s node ({node.version}) has "
            f"{node.abi}.")) if x)
        fixes.append(words.rebuild_fix())
        if not verdict.problems:
            message = text
    elif node is not None and is_node_api(elf):
        notes.append("built on Node-API (napi_register_module_v1): any Node.js with that API version loads "
                     "it")
    if not problems:
        return dataclasses.replace(verdict, notes=tuple(notes))
    return dataclasses.replace(
        verdict, runs=False, outcome=problems[0].kind, problems=tuple(problems), message=message,
        shell_message=message, explanation=explanation, fixes=tuple(dict.fromkeys(fixes)), notes=tuple(notes))


def dlopen_error(first: Problem, message: str, program: str, target: Target) -> str:
    """What dlerror() says for the first problem (dlopen stops there, on either libc)."""
    line = message.split("\n")[0]
    if first.kind is Outcome.MISSING_LIBRARY and target.libc is Libc.GLIBC:
        return first.detail  # "libc.musl-x86_64.so.1: cannot open shared object file: ..."
    prefix = f"{program}: "
    return line[len(prefix):] if line.startswith(prefix) else line
