"""linkcheck: will this compiled program start on that container image, and if not, why?

Public API::

    linkcheck.analyze(path) -> Analysis          # facts about one file, read statically
    linkcheck.check(path_or_analysis, target) -> Verdict
    linkcheck.check_matrix(path_or_analysis, targets=None) -> tuple[Verdict, ...]
    linkcheck.load_target(name_or_path, platform=None) -> Target

Nothing inspected is ever executed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from linkcheck.errors import (
    ArchiveError,
    ExitStatus,
    FormatError,
    InputError,
    LinkcheckError,
    MalformedElfError,
    NotFoundError,
    TargetError,
    UsageError,
)
from linkcheck.model import (
    SCHEMA_VERSION,
    Analysis,
    ElfFacts,
    FileFormat,
    Libc,
    Linkage,
    Outcome,
    ScriptFacts,
    Target,
    Verdict,
)

if TYPE_CHECKING:  # what type checkers see; at run time these load on first use (below)
    from linkcheck.facts.reader import analyze
    from linkcheck.image.target import load_target
    from linkcheck.verdict.checks import check_matrix_path as check_matrix
    from linkcheck.verdict.checks import check_path as check

__version__ = "0.1.0"

# The entry points are imported on first use, so that `import linkcheck` (and the CLI's start-up) only
# pays for the modules a call needs.
_LAZY = {
    "analyze": ("linkcheck.facts.reader", "analyze"),
    "check": ("linkcheck.verdict.checks", "check_path"),
    "check_matrix": ("linkcheck.verdict.checks", "check_matrix_path"),
    "load_target": ("linkcheck.image.target", "load_target"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module_name, attr = _LAZY[name]
        return getattr(importlib.import_module(module_name), attr)
    raise AttributeError(f"module 'linkcheck' has no attribute {name!r}")


__all__ = [
    "SCHEMA_VERSION",
    "Analysis",
    "ArchiveError",
    "ElfFacts",
    "ExitStatus",
    "FileFormat",
    "FormatError",
    "InputError",
    "Libc",
    "LinkcheckError",
    "Linkage",
    "MalformedElfError",
    "NotFoundError",
    "Outcome",
    "ScriptFacts",
    "Target",
    "TargetError",
    "UsageError",
    "Verdict",
    "analyze",
    "check",
    "check_matrix",
    "load_target",
]
