#!/usr/bin/env python3
"""Differential check: linkcheck's ELF facts against two independent readers, readelf and LIEF.

    python scripts/differential.py [DIR ...] [--limit N] [--verbose]

Walks the directories (default /usr), reads every ELF file with readelf (binutils), LIEF and
linkcheck, and compares: class, endianness, e_machine, interpreter, DT_NEEDED, DT_SONAME, DT_RPATH,
DT_RUNPATH, version needs (library -> versions) and version definitions (base entry excluded). Prints
how many files were compared and every disagreement, classified (see ``classify``). Exit status 1 when
a disagreement is left unexplained ("linkcheck-differs").

The readers are also imported by the tests (tests/test_differential.py, tests/test_elfwriter.py).
"""

from __future__ import annotations

import argparse
import os
import re
import stat
import subprocess
import sys
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

FACTS = (
    "elf_class",
    "endianness",
    "e_machine",
    "interpreter",
    "needed",
    "soname",
    "rpath",
    "runpath",
    "version_needs",
    "version_definitions",
)

# readelf -h "Machine:" text -> e_machine, for the architectures we meet; others compared by LIEF only.
READELF_MACHINES = {
    "Advanced Micro Devices X86-64": 62,
    "Intel 80386": 3,
    "AArch64": 183,
    "ARM": 40,
    "IBM S/390": 22,
    "MIPS R3000": 8,
    "RISC-V": 243,
    "PowerPC64": 21,
    "PowerPC": 20,
    "Sparc v9": 43,
    "Alpha": 0x9026,
    "LoongArch": 258,
}


@dataclass
class Facts:
    elf_class: int | None = None
    endianness: str | None = None
    e_machine: int | None = None
    interpreter: str | None = None
    needed: tuple[str, ...] = ()
    soname: str | None = None
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    version_needs: tuple[tuple[str, tuple[str, ...]], ...] = ()
    version_definitions: tuple[str, ...] = ()
    # symbols: (name, version or None, weak) for undefined; (name, version or None, hidden) for defined
    imports: frozenset[tuple[str, str | None, bool]] = frozenset()
    exports: frozenset[tuple[str, str | None, bool]] = frozenset()
    extra: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        return getattr(self, name)


def is_elf(path: str) -> bool:
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size < 52:
            return False
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def iter_elf_files(roots: list[str]) -> Iterator[str]:
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                if is_elf(path):
                    yield path


# ---------------------------------------------------------------------------------------------------
# readelf
# ---------------------------------------------------------------------------------------------------

_BRACKET = re.compile(r"\[(.*)\]\s*$")


def readelf_facts(path: str) -> Facts:
    """Facts as GNU readelf prints them. Symbols come from --dyn-syms, or -D when there are no
    section headers (then -V prints nothing and version needs/definitions stay empty: see
    ``extra["sectionless"]``)."""
    env = {**os.environ, "LC_ALL": "C"}
    proc = subprocess.run(
        ["readelf", "-W", "-h", "-l", "-d", "-V", "--dyn-syms", path],
        capture_output=True,
        env=env,
        check=False,
    )
    out = proc.stdout.decode("utf-8", "surrogateescape")
    f = Facts()
    f.extra["errors"] = tuple(
        line for line in proc.stderr.decode("utf-8", "replace").splitlines() if "Error:" in line
    )
    needed: list[str] = []
    rpath: list[str] = []
    runpath: list[str] = []
    section = ""
    vneeds: list[tuple[str, list[str]]] = []
    vdefs: list[str] = []
    for line in out.splitlines():
        s = line.strip()
        if s.startswith("Class:"):
            f.elf_class = 64 if "ELF64" in s else 32 if "ELF32" in s else None
        elif s.startswith("Data:"):
            f.endianness = "little" if "little endian" in s else "big" if "big endian" in s else None
        elif s.startswith("Machine:"):
            text = s.split(":", 1)[1].strip()
            f.e_machine = READELF_MACHINES.get(text)
            f.extra["machine_text"] = text
        elif s.startswith("Number of section headers:"):
            f.extra["sectionless"] = s.split(":", 1)[1].strip() == "0"
        elif s.startswith("[Requesting program interpreter:"):
            f.interpreter = s[len("[Requesting program interpreter: ") : -1]
        elif "(NEEDED)" in s and (m := _BRACKET.search(s)):
            needed.append(m.group(1))
        elif "(SONAME)" in s and (m := _BRACKET.search(s)):
            f.soname = m.group(1)
        elif "(RPATH)" in s and (m := _BRACKET.search(s)):
            rpath.extend(m.group(1).split(":"))
        elif "(RUNPATH)" in s and (m := _BRACKET.search(s)):
            runpath.extend(m.group(1).split(":"))
        elif s.startswith("Version needs section"):
            section = "verneed"
        elif s.startswith("Version definition section"):
            section = "verdef"
        elif s.startswith("Version symbols section") or s.startswith("Symbol table"):
            section = ""
        elif section == "verneed" and (m := re.search(r"File: (.*?)\s+Cnt: \d+$", s)):
            vneeds.append((m.group(1), []))
        elif section == "verneed" and (m := re.search(r"Name: (.*?)\s+Flags: ", s)) and vneeds:
            vneeds[-1][1].append(m.group(1))
        elif (
            section == "verdef"
            and (m := re.search(r"Flags: (.*?)\s+Index: \d+\s+Cnt: \d+\s+Name: (.*)$", s))
            and "BASE" not in m.group(1).split()
        ):
            vdefs.append(m.group(2))
    f.needed, f.rpath, f.runpath = tuple(needed), tuple(rpath), tuple(runpath)
    f.version_needs = tuple((lib, tuple(vs)) for lib, vs in vneeds)
    f.version_definitions = tuple(vdefs)
    syms = out
    if f.extra.get("sectionless"):
        syms = subprocess.run(
            ["readelf", "-W", "-D", "-s", path], capture_output=True, env=env, check=False
        ).stdout.decode("utf-8", "surrogateescape")
    f.imports, f.exports = _readelf_symbols(syms)
    return f


_SYM = re.compile(r"^\s*\d+:\s+[0-9a-fA-F]{8,16}\s+\S+\s+\S+\s+(\S+)\s+\S+\s+(\S+)\s+(.*)$")


def _readelf_symbols(out: str) -> tuple[frozenset[tuple[str, str | None, bool]], ...]:
    imports: set[tuple[str, str | None, bool]] = set()
    exports: set[tuple[str, str | None, bool]] = set()
    for line in out.splitlines():
        m = _SYM.match(line)
        if not m:
            continue
        bind, ndx, name = m.group(1), m.group(2), m.group(3)
        name = re.sub(r" \(\d+\)$", "", name)
        if not name or bind == "LOCAL":
            continue
        hidden = False
        version: str | None = None
        if "@@" in name:
            name, version = name.split("@@", 1)
        elif "@" in name:
            name, version = name.split("@", 1)
            hidden = ndx != "UND"
        if ndx == "UND":
            imports.add((name, version, bind == "WEAK"))
        else:
            exports.add((name, version, hidden))
    return frozenset(imports), frozenset(exports)


# ---------------------------------------------------------------------------------------------------
# LIEF
# ---------------------------------------------------------------------------------------------------


def lief_facts(path_or_bytes: str | bytes) -> Facts | None:
    """Facts as LIEF reads them; None when LIEF cannot parse the file at all."""
    import lief

    lief.logging.disable()
    binary: Any = lief.ELF.parse(list(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes)
    if binary is None:
        return None
    h = binary.header
    f = Facts()
    f.elf_class = 64 if h.identity_class == lief.ELF.Header.CLASS.ELF64 else 32
    f.endianness = "little" if h.identity_data == lief.ELF.Header.ELF_DATA.LSB else "big"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LIEF warns (and may fail) on e_machine values it has no name for
        try:
            f.e_machine = int(h.machine_type)
        except (SystemError, ValueError, RuntimeWarning):
            f.e_machine = None
    f.interpreter = binary.interpreter if binary.has_interpreter else None
    needed: list[str] = []
    rpath: list[str] = []
    runpath: list[str] = []
    tag = lief.ELF.DynamicEntry.TAG
    for entry in binary.dynamic_entries:
        if entry.tag == tag.NEEDED:
            needed.append(entry.name)
        elif entry.tag == tag.SONAME:
            f.soname = entry.name
        elif entry.tag == tag.RPATH:
            rpath.extend(entry.rpath.split(":"))
        elif entry.tag == tag.RUNPATH:
            runpath.extend(entry.runpath.split(":"))
    f.needed, f.rpath, f.runpath = tuple(needed), tuple(rpath), tuple(runpath)
    f.version_needs = tuple(
        (r.name, tuple(a.name for a in r.get_auxiliary_symbols())) for r in binary.symbols_version_requirement
    )
    defs: list[str] = []
    for d in binary.symbols_version_definition:
        if d.flags & 1:  # VER_FLG_BASE
            continue
        aux = list(d.auxiliary_symbols)
        if aux:
            defs.append(aux[0].name)
    f.version_definitions = tuple(defs)
    imports: set[tuple[str, str | None, bool]] = set()
    exports: set[tuple[str, str | None, bool]] = set()
    for s in binary.dynamic_symbols:
        if not s.name or s.binding == lief.ELF.Symbol.BINDING.LOCAL:
            continue
        sv = s.symbol_version
        version = sv.symbol_version_auxiliary.name if sv is not None and sv.has_auxiliary_version else None
        if s.shndx == 0:
            imports.add((s.name, version, s.binding == lief.ELF.Symbol.BINDING.WEAK))
        else:
            exports.add((s.name, version, bool(sv is not None and sv.value & 0x8000)))
    f.imports, f.exports = frozenset(imports), frozenset(exports)
    return f


# ---------------------------------------------------------------------------------------------------
# linkcheck
# ---------------------------------------------------------------------------------------------------


def linkcheck_facts(data: bytes, name: str = "") -> Facts:
    """Facts as linkcheck.facts.elf.parse_elf reads them (raises what parse_elf raises)."""
    from linkcheck.facts.elf import parse_elf

    e = parse_elf(data, name)
    f = Facts(
        elf_class=e.elf_class,
        endianness=e.endianness,
        e_machine=e.e_machine,
        interpreter=e.interpreter,
        needed=tuple(e.needed),
        soname=e.soname,
        rpath=tuple(e.rpath),
        runpath=tuple(e.runpath),
        version_needs=tuple((n.library, tuple(n.versions)) for n in e.version_needs),
        version_definitions=tuple(e.version_definitions),
        imports=frozenset((s.name, s.version, s.weak) for s in e.imports),
        exports=frozenset((s.name, s.version, s.hidden) for s in e.exports),
    )
    f.extra["warnings"] = tuple(e.warnings)
    f.extra["has_section_headers"] = e.has_section_headers
    return f


# ---------------------------------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Disagreement:
    path: str
    fact: str
    linkcheck: Any
    readelf: Any
    lief: Any
    kind: str  # see classify()


def classify(fact: str, mine: Any, re_: Facts, li: Facts | None) -> str | None:
    """None when linkcheck agrees with its references; otherwise one of:

    - "readelf-unknown-machine": readelf names a machine we have no number for (LIEF agrees with us);
    - "readelf-sectionless": the file has no section headers, so readelf -V prints no version tables;
      linkcheck agrees with LIEF, which reads them through the dynamic table;
    - "lief-unknown-machine": LIEF has no name for e_machine (readelf agrees with us);
    - "lief-failed": LIEF could not parse the file, linkcheck agrees with readelf;
    - "all-refuse": linkcheck refuses the file and readelf reports errors reading the same structure
      (e.g. separate debug-info files: PT_INTERP with p_filesz 0, which the kernel refuses too);
    - "references-disagree": readelf and LIEF disagree with each other, linkcheck agrees with one;
    - "linkcheck-differs": linkcheck disagrees with both (a bug to report).
    """
    r = re_.get(fact)
    lv = li.get(fact) if li is not None else None
    if li is None:
        return None if mine == r else "linkcheck-differs"
    if mine == r and mine == lv:
        return None
    if fact == "e_machine" and r is None and mine == lv:
        return "readelf-unknown-machine"
    if fact == "e_machine" and lv is None and mine == r:
        return "lief-unknown-machine"
    if fact in ("version_needs", "version_definitions") and re_.extra.get("sectionless") and mine == lv:
        return "readelf-sectionless"
    if r != lv and mine in (r, lv):
        return "references-disagree"
    return "linkcheck-differs"


def compare_file(path: str) -> list[Disagreement]:
    with open(path, "rb") as fh:
        data = fh.read()
    re_ = readelf_facts(path)
    li = lief_facts(path)
    try:
        mine = linkcheck_facts(data, path)
    except Exception as exc:  # noqa: BLE001 - a reference read it, so any refusal is reported
        errors = "; ".join(re_.extra.get("errors", ()))
        refusal = "all-refuse" if errors else "linkcheck-refused"
        shown = f"{type(exc).__name__}: {exc}"
        return [Disagreement(path, "parse", shown, errors or "read", "read" if li else None, refusal)]
    out = []
    for fact in FACTS:
        kind = classify(fact, mine.get(fact), re_, li)
        if kind is not None:
            out.append(
                Disagreement(path, fact, mine.get(fact), re_.get(fact), li.get(fact) if li else None, kind)
            )
    if li is None:
        out.append(Disagreement(path, "parse", "read", "read", None, "lief-failed"))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("dirs", nargs="*", default=["/usr"])
    ap.add_argument("--limit", type=int, default=0, help="stop after N ELF files (0: all)")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every disagreement")
    args = ap.parse_args(argv)
    compared = 0
    kinds: Counter[str] = Counter()
    examples: dict[str, list[Disagreement]] = {}
    for path in iter_elf_files(args.dirs):
        compared += 1
        for d in compare_file(path):
            kinds[d.kind] += 1
            examples.setdefault(d.kind, []).append(d)
            if args.verbose or d.kind in ("linkcheck-differs", "linkcheck-refused"):
                print(
                    f"{d.kind}: {d.path}: {d.fact}: linkcheck={d.linkcheck!r} readelf={d.readelf!r} "
                    f"lief={d.lief!r}"
                )
        if args.limit and compared >= args.limit:
            break
    print(f"files compared: {compared}")
    for kind, n in sorted(kinds.items()):
        first = examples[kind][0]
        print(f"  {kind}: {n} (e.g. {first.path}: {first.fact})")
    if not kinds:
        print("  no disagreements")
    bad = kinds["linkcheck-differs"] + kinds["linkcheck-refused"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
