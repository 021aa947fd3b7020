"""Text for people and JSON for machines. No decisions are made here."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from linkcheck.model import SCHEMA_VERSION, Analysis, FileFormat, Outcome, Target, Verdict
from linkcheck.output.escape import escape_text
from linkcheck.verdict.gates import GateResult

if TYPE_CHECKING:
    from linkcheck.scan import ScanResult


def terminal_lines(lines: Sequence[str]) -> list[str]:
    """The report's lines made safe to print in any locale: names come from the files read (a DT_NEEDED,
    a #! line, a path can hold any byte), so bytes that are not UTF-8 and control characters, line
    breaks included, are shown as ``\\xNN`` (see ``linkcheck.output.escape``): a file can neither forge a
    report line ("  on alpine: runs") nor send escape sequences to a terminal."""
    return [escape_text(line) for line in lines]


def describe_analysis(analysis: Analysis) -> list[str]:
    """The readable summary of one file's facts."""
    lines = [analysis.path, f"  {analysis.description}"]
    elf = analysis.elf
    if elf is not None:
        rows: list[tuple[str, str]] = [
            ("linkage", f"{elf.linkage.value} ({elf.linkage_evidence})"),
            ("interpreter", elf.interpreter or "none (the kernel starts it directly)"),
        ]
        if elf.needed:
            rows.append(("needs", ", ".join(elf.needed)))
        if elf.soname:
            rows.append(("soname", elf.soname))
        if elf.rpath:
            rows.append(("rpath", ":".join(elf.rpath)))
        if elf.runpath:
            rows.append(("runpath", ":".join(elf.runpath)))
        for need in elf.version_needs:
            rows.append(("versions", f"{need.library}: {', '.join(need.versions)}"))
        if elf.min_glibc:
            version = "GLIBC_" + elf.min_glibc
            symbols = elf.symbols_needing(version)
            because = f" ({', '.join(s + '@' + version for s in symbols[:4])})" if symbols else ""
            rows.append(("min glibc", elf.min_glibc + because))
        tool = elf.toolchain
        if tool.go is not None:
            go = tool.go
            bits = [go.go_version]
            if go.cgo_enabled is not None:
                bits.append(f"CGO_ENABLED={'1' if go.cgo_enabled else '0'}")
            if go.tags:
                bits.append("-tags " + ",".join(go.tags))
            ldflags = go.setting("-ldflags")
            if ldflags:
                bits.append(f"-ldflags {ldflags!r}")
            rows.append(("toolchain", "go " + ", ".join(bits)))
        elif tool.language.value != "unknown":
            rows.append(("toolchain", f"{tool.language.value} ({'; '.join(tool.evidence)})"
                         if tool.evidence else tool.language.value))
        for warning in elf.warnings + elf.symbols.warnings:
            rows.append(("warning", warning))
        lines += [f"  {k:<12} {v}" for k, v in rows]
    script = analysis.script
    if script is not None:
        lines.append(f"  {'interpreter':<12} '{script.interpreter}'"
                     + (f" with argument '{script.argument}'" if script.argument else ""))
        if script.program:
            lines.append(f"  {'looks up':<12} '{script.program}' on PATH (through env)")
        if script.crlf:
            lines.append(f"  {'warning':<12} the #! line ends in CR LF:"
                         " the kernel looks for a name ending in \\r")
        if script.truncated:
            lines.append(f"  {'warning':<12} the #! line is longer than the kernel reads (256 bytes)")
    java = analysis.java
    if java is not None:
        lines.append(f"  {'java':<12} class file version {java.class_major}: needs Java {java.java_release}+")
    return lines


def describe_verdict(verdict: Verdict) -> list[str]:
    if verdict.runs:
        mark = "starts, then breaks" if any(not f.kind.is_note for f in verdict.findings) else "runs"
    elif verdict.outcome is Outcome.STARTS_THEN_FAILS:
        mark = f"STARTS, THEN FAILS ({verdict.outcome.value})"
    elif verdict.outcome is Outcome.UNKNOWN:
        mark = "CANNOT TELL (unknown)"
    elif verdict.outcome is Outcome.NOT_LINUX:
        mark = f"STARTS, BUT IS NOT A LINUX PROGRAM ({verdict.outcome.value})"
    else:
        mark = f"WON'T RUN ({verdict.outcome.value})"
    lines = [f"  on {verdict.target}: {mark}"]
    if verdict.runs:
        for note in verdict.notes:
            lines += wrap("note:", note)
        return lines + describe_findings(verdict)
    if verdict.message:  # none when linkcheck cannot tell what would be printed
        lines += message_lines("docker:", verdict.message)
    if verdict.shell_message and verdict.shell_message != verdict.message:
        lines += message_lines("shell:", verdict.shell_message)
    lines += wrap("why:", verdict.explanation)
    if len(verdict.problems) > 1:
        lines.append(f"      all {len(verdict.problems)} problems:")
        lines += [f"        - {p.kind.value}: {p.detail}" for p in verdict.problems]
    for problem in verdict.problems:
        if problem.search:
            lines.append(f"      search for {problem.subject} (needed by {problem.needed_by}):")
            for i, step in enumerate(problem.search, 1):
                reason = f" ({step.reason})" if step.reason else ""
                lines.append(f"        {i}. {step.directory:<32} {step.source.value:<12}"
                             f" {step.result}{reason}")
    for fix in verdict.fixes:
        lines += wrap("fix:", fix)
    for note in verdict.notes:
        lines += wrap("note:", note)
    return lines + describe_findings(verdict)


def describe_findings(verdict: Verdict) -> list[str]:
    """The runtime findings under a verdict: what fails after the start, when, why, and the fixes."""
    lines: list[str] = []
    for f in verdict.findings:
        subject = f" {f.subject}" if f.subject else ""
        if f.kind.is_note:
            lines.append(f"    note: {f.kind.value}{subject} (differs from glibc)")
        else:
            lines.append(f"    then breaks: {f.kind.value}{subject} ({f.confidence.value} confidence)")
        lines += wrap("says:", f.message)
        lines += wrap("when:", f.when)
        lines += wrap("why:", "; ".join(f.evidence))
        if f.lacks:
            lines += wrap("lacks:", ", ".join(f.lacks))
        for fix in f.fixes:
            lines += wrap("fix:", fix)
    return lines


def message_lines(label: str, text: str) -> list[str]:
    """A message as the program prints it, its own line breaks kept (Java's LinkageError is two lines,
    the second indented with a tab), each line escaped. Continuation lines sit under the label, deeper
    than any report line, so a line break a name holds cannot pass for a line of the report."""
    first, *rest = text.split("\n")
    return [f"      {label:<8}{escape_text(first)}"] + [" " * 14 + escape_text(line.lstrip("\t"))
                                                         for line in rest]


def wrap(label: str, text: str, width: int = 100) -> list[str]:
    """A labelled paragraph, indented under the verdict line and wrapped for a terminal."""
    # Escaped first: textwrap would turn a line break or tab a name holds into a space.
    return textwrap.wrap(escape_text(text), width, initial_indent=f"      {label:<8}",
                         subsequent_indent=" " * 14, break_long_words=False,
                         break_on_hyphens=False) or [f"      {label}"]


def describe_matrix(verdicts: Sequence[Verdict], targets: Sequence[Target], platform: str | None = None
                    ) -> list[str]:
    """One line per built-in target (of ``platform``, named), then the smallest image it runs on."""
    sizes = {t.name: t.size_bytes for t in targets}
    width = max((len(v.target) for v in verdicts), default=10)
    lines = [f"  on the built-in images for {platform}:"] if platform else []
    lines.append(f"  {'target':<{width}}  {'result':<24} first problem")
    for v in verdicts:
        result = "runs" if v.runs else v.outcome.value
        first = v.problems[0].subject if v.problems else ""
        breaks = [f for f in v.findings if not f.kind.is_note]
        if breaks:
            then = "then breaks: " + ", ".join(f.kind.value for f in breaks)
            first = f"{first}; {then}" if first else then
        lines.append(f"  {v.target:<{width}}  {result:<24} {first}")
    running = [v for v in verdicts if v.runs and sizes.get(v.target) is not None]
    if targets and all(t.runtimes for t in targets):
        # A runtime matrix comes smallest first (linkcheck.image.runtimes.smallest_first): most runtime
        # images' sizes are not recorded.
        runner = next((v for v in verdicts if v.runs), None)
        lines.append(f"  smallest image it runs on: {runner.target} (ranked by its base: Alpine first, then "
                     "the base's size; a JRE before a JDK; the older release first)" if runner is not None
                     else "  it runs on none of the built-in images")
    elif running:
        smallest = min(running, key=lambda v: sizes[v.target] or 0)
        size = sizes[smallest.target] or 0
        lines.append(f"  smallest image it runs on: {smallest.target} ({human_size(size)})")
        if any(not f.kind.is_note for f in smallest.findings):
            whole = [v for v in running if all(f.kind.is_note for f in v.findings)]
            if whole:
                best = min(whole, key=lambda v: sizes[v.target] or 0)
                lines.append(f"  smallest it runs on without breaking after start: {best.target} "
                             f"({human_size(sizes[best.target] or 0)})")
            else:
                lines.append("  it breaks after start on every built-in image it runs on")
    elif not any(v.runs for v in verdicts):
        lines.append("  it runs on none of the built-in images")
    return lines


def scan_rows(result: ScanResult, gates: Sequence[GateResult]) -> list[tuple[str, str, str]]:
    """The table rows of one file found in a tree, wheel or image: (path, linkage, result), then its
    notes and failed gates. Each target that refuses it is named with its own first problems."""
    if result.analysis is None:
        return [(result.path, "unreadable", result.error or "")]
    bad = [v for v in result.verdicts if not v.runs]
    if bad:
        text = "; ".join(_refusal(v) for v in bad)
    elif result.analysis.format is FileFormat.WHEEL:
        text = result.analysis.description
    else:
        text = "runs" if result.verdicts else "-"
    rows = [(result.path, result.analysis.linkage.value if result.analysis.elf or result.analysis.script
             else result.analysis.format.value, text)]
    for v in result.verdicts:
        for label, found in (("starts, then breaks", [f for f in v.findings if not f.kind.is_note]),
                             ("note", [f for f in v.findings if f.kind.is_note])):
            if found:
                rows.append((result.path, "", f"{v.target}: {label}: " + ", ".join(
                    f.kind.value + (f" {f.subject}" if f.subject else "") for f in found)))
    rows += [(result.path, "", str(note)) for note in result.notes]
    rows += [(result.path, "", f"gate {g.gate}: FAILED: {g.detail}") for g in gates if not g.passed]
    return rows


def _refusal(verdict: Verdict) -> str:
    problems = ", ".join(p.detail for p in verdict.problems[:2])
    return f"{verdict.target}: {verdict.outcome.value}" + (f" ({problems})" if problems else "")


def describe_scan(container: str, rows: Sequence[tuple[str, str, str]], files: int, failing: int,
                  judged: bool = True, unreadable: int = 0) -> list[str]:
    """A directory, wheel or image: one line per file (with -q, per file that fails), then a summary
    of what the library decided: how many fail (would not run, failed a gate, has an error finding),
    and how many could not be read (not counted as checked)."""
    lines = [f"{container}: {files} {'file' if files == 1 else 'files'} {'checked' if judged else 'read'}"
             + (f", {unreadable} could not be read" if unreadable else "")]
    width = min(max((len(path) for path, _, _ in rows), default=0), 60)
    for path, linkage, result in rows:
        lines.append(f"  {path:<{width}}  {linkage:<14} {result}")
    if failing:
        lines.append(f"  {failing} of {files} would not run or fail a check")
    elif unreadable and judged:
        lines.append(f"  every file read runs; {unreadable} could not be read")
    elif judged:
        lines.append("  all run" if files else "  nothing to run")
    else:
        lines.append("  no target named: facts only (--target IMAGE judges them)")
    return lines


def describe_gates(gates: Sequence[GateResult]) -> list[str]:
    return [f"  gate {g.gate}: {'passed' if g.passed else 'FAILED'}: {g.detail}" for g in gates]


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def file_document(analysis: Analysis, verdicts: Sequence[Verdict], gates: Sequence[GateResult],
                  smallest: str | None = None, matrix_platform: str | None = None) -> dict[str, Any]:
    """One file's JSON entry; ``matrix_platform`` ("linux/arm64") says the verdicts are the built-in images
    of that platform, judged because no target was named."""
    out = analysis.to_dict()
    out["verdicts"] = [v.to_dict() for v in verdicts]
    out["gates"] = [g.to_dict() for g in gates]
    out["smallest_target"] = smallest
    out["matrix_platform"] = matrix_platform
    return out


def json_document(files: list[dict[str, Any]], errors: list[dict[str, str]], version: str) -> dict[str, Any]:
    return {"schema": SCHEMA_VERSION, "linkcheck_version": version, "files": files, "errors": errors}

