"""Text rendering: safe to print whatever the file held; the matrix names the smallest image it runs on."""

from __future__ import annotations

import dataclasses

from linkcheck.model import Outcome, Verdict
from linkcheck.output.render import describe_matrix, describe_verdict, human_size, terminal_lines

from factories import glibc_target


def verdict(target: str, runs: bool) -> Verdict:
    return Verdict(target, runs, Outcome.RUNS if runs else Outcome.MISSING_INTERPRETER, (), "", "", "", ())


def test_control_characters_and_line_breaks_are_escaped_so_no_line_is_forged() -> None:
    lines = terminal_lines(["  needs        libx.so\n  on debian: runs\x1b[2J"])
    assert lines == ["  needs        libx.so\\x0a  on debian: runs\\x1b[2J"]


def test_a_two_line_message_keeps_its_lines_and_a_name_cannot_forge_a_report_line() -> None:
    java = ("Error: LinkageError occurred while loading main class Hello\n"
            "\tjava.lang.UnsupportedClassVersionError: Hello has been compiled by a more recent"
            " version of the Java Runtime")
    shown = describe_verdict(Verdict("eclipse-temurin:17-jre", False, Outcome.JAVA_TOO_NEW, (), java, "", "",
                                     ()))
    assert shown[1] == "      docker: Error: LinkageError occurred while loading main class Hello"
    assert shown[2] == (" " * 14 + "java.lang.UnsupportedClassVersionError: Hello has been compiled by a"
                        " more recent version of the Java Runtime")
    forged = describe_verdict(Verdict("alpine", False, Outcome.MISSING_LIBRARY, (),
                                      "libx.so\n  on debian: runs\x1b[2J", "", "", ()))
    assert forged[2] == " " * 16 + "on debian: runs\\x1b[2J"
    assert not any(line.startswith("  on debian") for line in forged)


def test_plain_lines_are_unchanged() -> None:
    assert terminal_lines(["a", "  b: c"]) == ["a", "  b: c"]


def test_matrix_names_the_smallest_image_it_runs_on() -> None:
    targets = [dataclasses.replace(glibc_target(name="small"), size_bytes=5_000_000),
               dataclasses.replace(glibc_target(name="big"), size_bytes=80_000_000)]
    lines = describe_matrix([verdict("big", True), verdict("small", True)], targets)
    assert lines[-1] == "  smallest image it runs on: small (5.0 MB)"
    lines = describe_matrix([verdict("big", False), verdict("small", False)], targets)
    assert lines[-1] == "  it runs on none of the built-in images"


def test_human_size() -> None:
    assert human_size(999) == "999 B"
    assert human_size(4_400_000) == "4.4 MB"


def test_matrix_names_the_smallest_image_it_runs_on_without_breaking_after_start() -> None:
    from linkcheck.model import Confidence, NeedKind, NeedReader, RuntimeFinding

    targets = [dataclasses.replace(glibc_target(name="small"), size_bytes=5_000_000),
               dataclasses.replace(glibc_target(name="big"), size_bytes=80_000_000)]
    breaks = (RuntimeFinding(NeedKind.TIME_ZONES, NeedReader.GO, Confidence.HIGH, ("e",),
                             ("/usr/share/zoneinfo",)),)
    small = dataclasses.replace(verdict("small", True), findings=breaks)
    lines = describe_matrix([verdict("big", True), small], targets)
    assert "then breaks: time-zones" in lines[-3]
    assert lines[-2:] == ["  smallest image it runs on: small (5.0 MB)",
                          "  smallest it runs on without breaking after start: big (80.0 MB)"]
    lines = describe_matrix([dataclasses.replace(verdict("big", True), findings=breaks), small], targets)
    assert lines[-1] == "  it breaks after start on every built-in image it runs on"
