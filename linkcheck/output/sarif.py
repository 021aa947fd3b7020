"""Scan results as a SARIF 2.1.0 log, for code-scanning dashboards.

One rule per ``Outcome`` that is a problem (RUNS has none), plus ``unreadable`` for files linkcheck could
not read, ``wheel-tag`` for a wheel's findings about its own tags, and ``breaks-KIND`` for each kind of
runtime finding (it starts, then breaks: "warning" or, with low confidence, "note"). One result per
problem in a verdict, located at the file (for a file inside an image or wheel: the archive, with the
member named in the message and in the result's properties). A problem that stops the program from
starting is level "error"; an UNKNOWN verdict is a "warning"; wheel notes are "note" or "warning".
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import stat
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from linkcheck.model import Confidence, NeedKind, Outcome, Problem, ScanResult, Verdict
from linkcheck.output.escape import escape_json

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

_RULE_TEXT: dict[str, tuple[str, str]] = {
    Outcome.NOT_EXECUTABLE.value: (
        "Not a program the kernel runs",
        "The file is not an ELF program or a script with a shebang (text without #!, a Windows or macOS "
        "binary ...): the kernel refuses it with 'exec format error'."),
    Outcome.WRONG_ARCHITECTURE.value: (
        "Built for another CPU",
        "The ELF header names a machine the image is not for: 'exec format error'."),
    Outcome.NOT_LINUX.value: (
        "Another operating system's program",
        "A static program for FreeBSD, NetBSD, OpenBSD or Solaris: Linux starts it (it ignores EI_OSABI and "
        "ELF notes), and its system calls, numbered for its own system, do other things."),
    Outcome.MISSING_INTERPRETER.value: (
        "Program interpreter missing",
        "The dynamic loader (PT_INTERP) or the script's #! interpreter is not in the image: 'no such file "
        "or directory' although the file is there."),
    Outcome.MISSING_LIBRARY.value: (
        "Shared library missing",
        "A DT_NEEDED library is found nowhere the loader searches: 'error while loading shared "
        "libraries'."),
    Outcome.MISSING_SYMBOL_VERSION.value: (
        "Symbol version missing",
        "A library in the image is older than the one the file was linked against: \"version `GLIBC_2.34' "
        "not found\"."),
    Outcome.MISSING_SYMBOL.value: (
        "Symbol missing",
        "A symbol the file imports is defined by none of the libraries it loads: 'undefined symbol' or "
        "'symbol not found'."),
    Outcome.UNSUPPORTED_RELOCATION.value: (
        "Relocation the loader does not support",
        "musl's loader has no IFUNC support: a file with IRELATIVE relocations fails with 'Error relocating "
        "...: unsupported relocation type N'."),
    Outcome.STARTS_THEN_FAILS.value: (
        "Starts, then fails at the first call of a missing function",
        "glibc binds functions lazily: the program starts, and exits 127 with 'symbol lookup error: "
        "undefined symbol' when it first calls a function no library in the image defines."),
    Outcome.JAVA_TOO_NEW.value: (
        "Class files newer than the image's Java",
        "The classes need a newer Java than the image has: UnsupportedClassVersionError."),
    Outcome.NODE_MODULE_VERSION.value: (
        "Node.js addon built for another Node.js",
        "A native addon not built on Node-API was compiled against another NODE_MODULE_VERSION."),
    Outcome.PYTHON_MISMATCH.value: (
        "Built for another Python",
        "A virtualenv or extension module made for another Python version or libc than the image's."),
    Outcome.NO_MAIN_CLASS.value: (
        "No main class for java -jar",
        "The jar's manifest names no Main-Class, or names a class the jar does not hold."),
    Outcome.ENVIRONMENT_TOO_LARGE.value: (
        "Environment too large for execve",
        "The image's environment (ENV, --env) is more than execve passes: it fails with 'argument list too "
        "long' (E2BIG), and no process of the container starts."),
    Outcome.UNKNOWN.value: (
        "Cannot tell",
        "linkcheck could not decide whether the file starts; the result says why."),
    "unreadable": (
        "File could not be read",
        "The file or archive could not be read (truncated, malformed, refused as unsafe)."),
    "wheel-tag": (
        "Wheel tag and modules disagree",
        "A wheel's platform tags promise something its extension modules do not keep (glibc version, libc, "
        "architecture)."),
}
# Runtime findings: the program starts, then fails when it reads what the image lacks. Level "warning"
# (high confidence) or "note" (low), never "error": it starts.
_FINDING_TEXT = {
    NeedKind.CA_CERTIFICATES: "No CA bundle where the program's TLS code reads one: 'x509: certificate "
                              "signed by unknown authority', 'certificate verify failed'.",
    NeedKind.TIME_ZONES: "No zoneinfo for a program that loads named time zones: 'unknown time zone'.",
    NeedKind.USERS: "No /etc/passwd for a program that looks up users: 'user: unknown user'.",
    NeedKind.DLOPEN: "A library the program opens by name with dlopen() is not in the image: 'cannot open "
                     "shared object file'.",
    NeedKind.TEMP_DIR: "No /tmp for a program that creates temporary files.",
    NeedKind.LOCALE: "The locale LANG or LC_ALL names is not in the image: setlocale fails, the program "
                     "runs in the C locale.",
    NeedKind.DNS: "A note: musl's resolver differs from glibc's (search domains end at the first error; no "
                  "TCP retry before musl 1.2.4).",
}
for _kind, _text in _FINDING_TEXT.items():
    _heading = "Behaves differently after start" if _kind.is_note else "Starts, then breaks"
    _RULE_TEXT[f"breaks-{_kind.value}"] = (f"{_heading}: {_kind.value}", _text)
RULE_IDS: tuple[str, ...] = tuple(_RULE_TEXT)


def _rule(rule_id: str) -> dict[str, Any]:
    short, full = _RULE_TEXT[rule_id]
    level = "warning" if rule_id in (Outcome.UNKNOWN.value, "unreadable", "wheel-tag") or rule_id.startswith(
        "breaks-") else "error"
    if rule_id == f"breaks-{NeedKind.DNS.value}":
        level = "note"
    return {
        "id": rule_id,
        "name": "".join(part.capitalize() for part in rule_id.split("-")),
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "defaultConfiguration": {"level": level},
    }


def _uri(path: str) -> str:
    """A URI reference for a file path: relative paths stay relative (what code scanning wants)."""
    # Percent-encoding the bytes keeps a name that is not UTF-8 exact.
    raw = path.encode("utf-8", "surrogateescape")
    if os.path.isabs(path):
        return "file://" + quote(raw)
    return quote(raw)


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _location(result: ScanResult) -> dict[str, Any]:
    where = result.container if result.container is not None else result.path
    return {"physicalLocation": {"artifactLocation": {"uri": _uri(where)}}}


def _properties(result: ScanResult, verdict: Verdict | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {"path": result.path}
    if result.member is not None:
        props["member"] = result.member
    if verdict is not None:
        props["target"] = verdict.target
        if verdict.fixes:
            props["fixes"] = list(verdict.fixes)
    return props


def _problem_text(result: ScanResult, verdict: Verdict, problem: Problem) -> str:
    who = result.member if result.member is not None else result.path
    text = f"{who}: {problem.detail} (on {verdict.target})"
    if verdict.fixes:
        text += f". Fix: {verdict.fixes[0]}"
    return text


def to_sarif(results: Iterable[ScanResult], tool_version: str) -> dict[str, Any]:
    """A SARIF 2.1.0 log (a JSON-ready dict) with one run holding every problem in ``results``."""
    index = {rule_id: i for i, rule_id in enumerate(RULE_IDS)}
    out: list[dict[str, Any]] = []

    def add(rule_id: str, level: str, text: str, result: ScanResult, key: str,
            verdict: Verdict | None = None) -> None:
        out.append({
            "ruleId": rule_id,
            "ruleIndex": index[rule_id],
            "level": level,
            "message": {"text": " ".join(text.split())},
            "locations": [_location(result)],
            "partialFingerprints": {"linkcheckProblem/v1": _fingerprint(result.path, rule_id, key)},
            "properties": _properties(result, verdict),
        })

    for result in results:
        if result.error is not None:
            add("unreadable", "warning", result.error, result, "")
        for verdict in result.verdicts:
            if verdict.runs:
                continue
            problems = verdict.problems or (
                Problem(verdict.outcome, "", result.path, verdict.message or verdict.explanation),)
            for problem in problems:
                kind = problem.kind if problem.kind is not Outcome.RUNS else verdict.outcome
                level = "warning" if kind is Outcome.UNKNOWN else "error"
                add(kind.value, level, _problem_text(result, verdict, problem), result,
                    f"{verdict.target}\0{problem.subject}\0{problem.needed_by}", verdict)
        for verdict in result.verdicts:
            for f in verdict.findings:
                subject = f" {f.subject}" if f.subject else ""
                where = result.member or result.path
                if f.kind.is_note:
                    text = f"{where} on {verdict.target}{subject}: {f.message} ({f.when})"
                else:
                    text = (f"{where} starts on {verdict.target}, then breaks{subject}: "
                            f"{f.message} ({f.when}; the image lacks {', '.join(f.lacks)})")
                high = f.confidence is Confidence.HIGH and not f.kind.is_note
                add(f"breaks-{f.kind.value}", "warning" if high else "note", text,
                    result, f"{verdict.target}\0{f.kind.value}\0{f.subject or ''}", verdict)
        for note in result.notes:
            add("wheel-tag", note.severity.value, f"{result.member or result.path}: {note.message}", result,
                str(note))
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {
                "name": "linkcheck",
                "version": tool_version,
                "rules": [_rule(rule_id) for rule_id in RULE_IDS],
            }},
            "columnKind": "unicodeCodePoints",
            "results": out,
        }],
    }


def write_sarif(path: str, results: Iterable[ScanResult], tool_version: str) -> None:
    """Write the log to ``path`` only once it is complete: into a new file beside it, then renamed over
    it, so a reader (or a run that is interrupted) never sees half a log. Names that are not UTF-8 are
    escaped as ``linkcheck.output.escape`` says. A FIFO or device (``/dev/stdout``) is written directly.
    Raises OSError."""
    text = json.dumps(escape_json(to_sarif(results, tool_version)), indent=1)
    with contextlib.suppress(OSError):
        if not stat.S_ISREG(os.stat(path).st_mode) and not os.path.isdir(path):
            with open(path, "w", encoding="ascii") as out:
                out.write(text)
            return
    final = os.path.realpath(path)  # through a symlink the user named, as open() would
    tmp = os.path.join(os.path.dirname(final), f".{os.path.basename(final)}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(text)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
