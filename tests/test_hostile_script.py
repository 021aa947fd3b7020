"""Hostile shebang lines: parse_shebang always returns facts (or raises a LinkcheckError), never anything
else, and what it returns is what the kernel would see: nothing past the first 256 bytes, nothing past a
NUL, no blank inside the interpreter path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkcheck.errors import LinkcheckError
from linkcheck.model import FileFormat, ScriptFacts

script = pytest.importorskip("linkcheck.facts.script", reason="linkcheck.facts.script not written yet")
parse_shebang = script.parse_shebang
EXAMPLES = int(os.environ.get("LINKCHECK_HYPOTHESIS_EXAMPLES", "0")) or None
KERNEL_BUF = 256


def parse(head: bytes) -> ScriptFacts | LinkcheckError:
    try:
        facts = parse_shebang(head)
    except LinkcheckError as exc:
        return exc
    assert isinstance(facts, ScriptFacts)
    return facts


def raw(s: str | None) -> bytes:
    return b"" if s is None else s.encode("utf-8", "surrogateescape")


def check_kernel_properties(head: bytes, facts: ScriptFacts) -> None:
    """What any parse of a shebang must satisfy, whatever the bytes."""
    window = head[:KERNEL_BUF]
    interp = raw(facts.interpreter)
    for bad in (b"\0", b"\n", b" ", b"\t"):
        assert bad not in interp, f"{bad!r} inside the interpreter {facts.interpreter!r}"
    if facts.argument is not None:
        assert b"\0" not in raw(facts.argument) and b"\n" not in raw(facts.argument)
        assert interp, "an argument without an interpreter"
    # Both come from the kernel's 256-byte window, in order.
    if interp:
        assert interp in window
        assert len(interp) + len(raw(facts.argument)) <= KERNEL_BUF - 2
    if facts.crlf:
        assert window.find(b"\r\n") >= 0
        assert (raw(facts.argument) or interp).endswith(b"\r")
    if facts.program is not None:
        assert facts.interpreter.rsplit("/", 1)[-1] == "env"
    assert "\n" not in facts.line


CASES: dict[str, tuple[bytes, str, str | None]] = {
    # name: (head, interpreter, argument)
    "only #!": (b"#!", "", None),
    "#! and newline": (b"#!\n", "", None),
    "#! and blanks": (b"#!  \t \n", "", None),
    "no newline": (b"#!/bin/sh", "/bin/sh", None),
    "crlf": (b"#!/bin/sh\r\necho hi\r\n", "/bin/sh\r", None),
    "crlf with argument": (b"#!/bin/bash -e\r\n", "/bin/bash", "-e\r"),
    "tabs around": (b"#!\t/bin/sh\t-e\t\n", "/bin/sh", "-e"),
    "one argument, never split": (b"#!/usr/bin/env python3 -u -W error\n", "/usr/bin/env",
                                  "python3 -u -W error"),
    "NUL ends the line": (b"#!/bin/sh\0 evil\n", "/bin/sh", None),
    "NUL inside the interpreter": (b"#!/bin/s\0h\n", "/bin/s", None),
    "non-UTF-8 interpreter": (b"#!/bin/\xff\xfe\n", "/bin/\udcff\udcfe", None),
    "4 KB interpreter": (b"#!/" + b"a" * 4096 + b"\n", "", None),  # the path does not end inside 256
    "4 KB argument": (b"#!/bin/sh " + b"x" * 4096 + b"\n", "/bin/sh", "x" * 245),
    "newline at byte 300": (b"#!/bin/sh -" + b"y" * 288 + b"\n", "/bin/sh", "-" + "y" * 244),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_named_cases(case: str) -> None:
    head, interpreter, argument = CASES[case]
    facts = parse(head)
    assert isinstance(facts, ScriptFacts), facts
    assert facts.interpreter == interpreter
    assert facts.argument == argument
    check_kernel_properties(head, facts)


SCRIPT_LINE_BUG = (
    "ScriptFacts.line runs past the first newline when a NUL comes before it: parse_shebang looks for "
    "the newline only up to the first NUL and otherwise cuts the shown line at 255 bytes, so "
    "'#!/bin/sh\\0\\nrm -rf /\\n' reports the line '#!/bin/sh\\x00\\nrm -rf /\\n' (the file's next "
    "lines leak into the JSON 'line')"
)


def test_shown_line_stops_at_the_first_newline_even_after_a_nul() -> None:
    """Was SCRIPT_LINE_BUG (fixed in 8929067)."""
    facts = parse(b"#!/bin/sh\0\nrm -rf /\n")
    assert isinstance(facts, ScriptFacts)
    assert facts.interpreter == "/bin/sh"
    assert "\n" not in facts.line and "rm -rf" not in facts.line


def test_long_lines_are_marked_truncated() -> None:
    facts = parse(b"#!/bin/sh " + b"x" * 4096 + b"\n")
    assert isinstance(facts, ScriptFacts) and facts.truncated
    short = parse(b"#!/bin/sh -e\n")
    assert isinstance(short, ScriptFacts) and not short.truncated


def test_env_program_with_crlf_keeps_the_cr() -> None:
    facts = parse(b"#!/usr/bin/env python3\r\n")
    assert isinstance(facts, ScriptFacts)
    assert facts.program == "python3\r" and facts.crlf


shebangs = st.builds(
    lambda blanks, body, tail: b"#!" + blanks + body + tail,
    st.sampled_from([b"", b" ", b"\t", b" \t "]),
    st.binary(max_size=600),
    st.sampled_from([b"", b"\n", b"\r\n", b"\0", b"\n#!/bin/evil\n"]),
)
textual = st.builds(
    lambda words, sep, end: b"#!" + sep.join(words) + end,
    st.lists(st.text("/abcdefghijklmnopqrstuvwxyz._-=\r\x00\xe9\udcff", max_size=80).map(
        lambda s: s.encode("utf-8", "surrogateescape")), min_size=0, max_size=5),
    st.sampled_from([b" ", b"\t", b"  ", b" \t"]),
    st.sampled_from([b"", b"\n", b"\r\n"]),
)


@settings(max_examples=EXAMPLES or 500, deadline=1000)
@given(head=st.one_of(shebangs, textual))
def test_any_shebang_ends_well(head: bytes) -> None:
    facts = parse(head)
    if isinstance(facts, ScriptFacts):
        check_kernel_properties(head, facts)


@settings(max_examples=EXAMPLES or 200, deadline=1000)
@given(head=st.one_of(shebangs, textual), tail1=st.binary(max_size=300), tail2=st.binary(max_size=300))
def test_nothing_past_256_bytes_matters(head: bytes, tail1: bytes, tail2: bytes) -> None:
    window = head[:KERNEL_BUF].ljust(KERNEL_BUF, b" ")  # exactly the kernel's window, then anything
    a, b = parse(window + tail1), parse(window + tail2)
    if isinstance(a, ScriptFacts) and isinstance(b, ScriptFacts):
        assert (a.interpreter, a.argument, a.program, a.crlf, a.truncated) == (
            b.interpreter, b.argument, b.program, b.crlf, b.truncated)
    else:
        assert type(a) is type(b)


@settings(max_examples=EXAMPLES or 200, deadline=1000)
@given(head=st.one_of(shebangs, textual), tail=st.binary(max_size=64))
def test_nothing_after_a_nul_matters(head: bytes, tail: bytes) -> None:
    cut = head.find(b"\0")
    if cut < 0 or cut >= KERNEL_BUF or b"\n" in head[:cut]:
        return
    a, b = parse(head[: cut + 1]), parse(head[: cut + 1] + tail)
    assert isinstance(a, ScriptFacts) and isinstance(b, ScriptFacts)
    assert (a.interpreter, a.argument, a.program) == (b.interpreter, b.argument, b.program)


# ----------------------------------------------------------------------------------------------
# Whole files through analyze() and the CLI
# ----------------------------------------------------------------------------------------------

HOSTILE_FILES = {name: head for name, (head, _i, _a) in CASES.items()}
HOSTILE_FILES["4 MB of #!"] = b"#!" + b"/" * (4 << 20)
HOSTILE_FILES["newline flood"] = b"#!/bin/sh\n" + b"\n" * (1 << 20)


@pytest.mark.parametrize("case", sorted(HOSTILE_FILES))
def test_analyze_hostile_script_files(tmp_path: Path, case: str) -> None:
    from linkcheck.facts.reader import analyze

    path = tmp_path / "script"
    path.write_bytes(HOSTILE_FILES[case])
    try:
        analysis = analyze(path)
    except LinkcheckError:
        return
    assert analysis.format is FileFormat.SCRIPT
    assert analysis.script is not None
    check_kernel_properties(HOSTILE_FILES[case], analysis.script)
    json.dumps(analysis.to_dict())


@pytest.mark.parametrize("case", ["non-UTF-8 interpreter", "crlf", "NUL ends the line", "4 KB argument"])
def test_cli_on_hostile_scripts(tmp_path: Path, case: str) -> None:
    """The command prints one JSON document (or a one-line error) for them; no traceback."""
    path = tmp_path / "script"
    path.write_bytes(HOSTILE_FILES[case])
    proc = subprocess.run([sys.executable, "-m", "linkcheck", "--json", str(path)], capture_output=True,
                          timeout=120, check=False)
    assert b"Traceback" not in proc.stderr, proc.stderr.decode(errors="replace")
    assert proc.returncode in (0, 1, 2)
    if proc.returncode != 2:
        doc = json.loads(proc.stdout)
        assert doc["files"][0]["format"] == "script"
