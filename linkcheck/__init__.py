"""linkcheck: will this compiled program start on that container image, and if not, why?

Public API::

    linkcheck.analyze(path) -> Analysis          # facts about one file, read statically
    linkcheck.check(path_or_analysis, target, platform=None) -> Verdict
    linkcheck.check_matrix(path_or_analysis, targets=None, platform=None) -> tuple[Verdict, ...]
    linkcheck.load_target(name_or_path, platform=None) -> Target
    linkcheck.scan_paths(paths, targets=(), jobs=None, platform=None) -> Iterator[ScanResult]
    linkcheck.Run(targets, platform=None, gates=Gates(...)).check(path) -> Iterator[Checked]; .status

Nothing inspected is ever executed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from linkcheck.api import analyze, check, check_matrix, load_target, scan_paths
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
    ScanResult,
    ScriptFacts,
    Target,
    Verdict,
)

if TYPE_CHECKING:  # what type checkers see; at run time these load on first use (below)
    from linkcheck.report import Checked, Gates, Run

__version__ = "0.1.0"

# Classes of the modules that scanning needs, imported on first use so that `import linkcheck` (and the
# command's start-up) stays light. No module is named like a public name, so none can shadow one.
_LAZY = {
    "Checked": "linkcheck.report",
    "Gates": "linkcheck.report",
    "Run": "linkcheck.report",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'linkcheck' has no attribute {name!r}")


__all__ = [
    "SCHEMA_VERSION",
    "Analysis",
    "ArchiveError",
    "Checked",
    "ElfFacts",
    "ExitStatus",
    "FileFormat",
    "FormatError",
    "Gates",
    "InputError",
    "Libc",
    "LinkcheckError",
    "Linkage",
    "MalformedElfError",
    "NotFoundError",
    "Outcome",
    "Run",
    "ScanResult",
    "ScriptFacts",
    "Target",
    "TargetError",
    "UsageError",
    "Verdict",
    "analyze",
    "check",
    "check_matrix",
    "load_target",
    "scan_paths",
]
