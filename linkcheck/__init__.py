"""linkcheck: will this compiled program start on that container image, and if not, why?

Public API::

    linkcheck.analyze(path) -> Analysis          # facts about one file, read statically
    linkcheck.check(path_or_analysis, target) -> Verdict
    linkcheck.check_matrix(path_or_analysis, targets=None) -> tuple[Verdict, ...]
    linkcheck.load_target(name_or_path, platform=None) -> Target

Nothing inspected is ever executed.
"""

from __future__ import annotations

from linkcheck.analyze import analyze
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

__version__ = "0.1.0"

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
]
