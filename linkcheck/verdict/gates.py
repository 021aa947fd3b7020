"""The checks build scripts write by hand today, without naming an image.

``--static`` (fail unless static or static-pie), ``--max-glibc 2.31`` (fail if any symbol needs a newer
glibc), ``--arch arm64`` (fail unless built for that architecture). Pure functions of a file's facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from linkcheck.errors import UsageError
from linkcheck.model import Analysis, Linkage, glibc_version_key


@dataclass(frozen=True, slots=True)
class GateResult:
    gate: str  # "static", "max-glibc 2.31", "arch arm64"
    passed: bool
    detail: str  # one line: what the file is, against what was required

    def to_dict(self) -> dict[str, Any]:
        return {"gate": self.gate, "passed": self.passed, "detail": self.detail}


def static_gate(analysis: Analysis) -> GateResult:
    linkage = analysis.linkage
    passed = linkage in (Linkage.STATIC, Linkage.STATIC_PIE)
    if passed:
        detail = f"{linkage.value}: needs no loader and no libraries"
    elif analysis.elf is not None and analysis.elf.interpreter:
        needed = analysis.elf.needed
        libraries = f"{len(needed)} {'library' if len(needed) == 1 else 'libraries'}"
        detail = (f"{linkage.value}: needs the loader {analysis.elf.interpreter}"
                  f" and {libraries}" + (f" ({', '.join(needed[:4])}{', ...' if len(needed) > 4 else ''})"
                                         if needed else ""))
    else:
        detail = f"{linkage.value}: not a statically linked executable"
    return GateResult("static", passed, detail)


def parse_glibc_version(text: str) -> tuple[int, ...]:
    """"2.31" or "GLIBC_2.31" -> (2, 31); anything else is a usage error."""
    key = glibc_version_key(text if text.startswith("GLIBC_") else "GLIBC_" + text)
    if key is None or len(key) < 2:
        raise UsageError(f"--max-glibc expects a glibc version such as 2.31, not {text!r}")
    return key


def max_glibc_gate(analysis: Analysis, maximum: str) -> GateResult:
    limit = parse_glibc_version(maximum)
    name = f"max-glibc {maximum}"
    elf = analysis.elf
    needed = elf.min_glibc if elf else None
    if needed is None:
        return GateResult(name, True, "needs no GLIBC_ symbol version")
    assert elf is not None
    if parse_glibc_version(needed) <= limit:
        return GateResult(name, True, f"needs glibc {needed} at most")
    too_new = sorted(
        {v for n in elf.version_needs for v in n.versions
         if (k := glibc_version_key(v)) is not None and k > limit},
        key=lambda v: glibc_version_key(v) or (),
    )
    symbols = [f"{s}@{v}" for v in too_new for s in elf.symbols_needing(v)]
    shown = ", ".join(symbols[:6]) + (f" and {len(symbols) - 6} more" if len(symbols) > 6 else "")
    return GateResult(name, False, f"needs glibc {needed} (> {maximum}): {shown or ', '.join(too_new)}")


def arch_gate(analysis: Analysis, wanted_machine: str, wanted_text: str) -> GateResult:
    name = f"arch {wanted_text}"
    machine = analysis.machine
    if machine is None:
        return GateResult(name, True, f"{analysis.format.value}: architecture-independent")
    if machine == wanted_machine:
        return GateResult(name, True, f"built for {machine}")
    return GateResult(name, False, f"built for {machine}, not {wanted_machine}")
