"""parse_shebang(): the kernel's binfmt_script rules, pinned on byte strings.

Expected values follow fs/binfmt_script.c (Linux >= 5.1): a 256-byte zero-filled buffer read as a C
string; interpreter up to the first blank; the rest, blanks stripped, is one argument.
"""

from __future__ import annotations

import pytest

from linkcheck.facts.script import BINPRM_BUF_SIZE, parse_shebang


@pytest.mark.parametrize(
    ("head", "interpreter", "argument"),
    [
        (b"#!/bin/sh\n", "/bin/sh", None),
        (b"#!/bin/sh\necho hi\n", "/bin/sh", None),
        (b"#! /bin/sh\n", "/bin/sh", None),
        (b"#!\t \t/bin/sh\n", "/bin/sh", None),
        (b"#!/bin/sh -e\n", "/bin/sh", "-e"),
        (b"#!/bin/sh\t-e\n", "/bin/sh", "-e"),
        (b"#!/bin/sh   -e   \n", "/bin/sh", "-e"),
        (b"#!/bin/sh -e -x\n", "/bin/sh", "-e -x"),  # one argument, never split
        (b"#!/bin/sh  \t\n", "/bin/sh", None),  # trailing blanks are no argument
        (b"#!/bin/sh", "/bin/sh", None),  # no newline, short file: the zero fill ends the string
    ],
)
def test_interpreter_and_one_argument(head: bytes, interpreter: str, argument: str | None) -> None:
    s = parse_shebang(head)
    assert (s.interpreter, s.argument) == (interpreter, argument)
    assert not s.crlf and not s.truncated


def test_crlf_stays_in_the_interpreter() -> None:
    s = parse_shebang(b"#!/bin/sh\r\necho\r\n")
    assert (s.interpreter, s.argument, s.crlf) == ("/bin/sh\r", None, True)
    assert s.line == "#!/bin/sh"


def test_crlf_stays_in_the_argument() -> None:
    s = parse_shebang(b"#!/usr/bin/env python3\r\n")
    assert (s.interpreter, s.argument, s.program, s.crlf) == ("/usr/bin/env", "python3\r", "python3\r", True)


def test_carriage_return_after_a_blank_is_an_argument() -> None:
    # "\r" is not a blank to the kernel: "/bin/sh" gets the argument "\r".
    s = parse_shebang(b"#!/bin/sh \r\n")
    assert (s.interpreter, s.argument, s.crlf) == ("/bin/sh", "\r", True)


@pytest.mark.parametrize(
    ("head", "program"),
    [
        (b"#!/usr/bin/env python3\n", "python3"),
        (b"#!/bin/env bash\n", "bash"),
        (b"#!/usr/bin/env python3 -u\n", "python3 -u"),  # env is asked for "python3 -u" as one name
        (b"#!/usr/bin/env -S python3 -u\n", "python3"),
        (b"#!/usr/bin/env -Spython3 -u\n", "python3"),
        (b"#!/usr/bin/env -S\tnode --flag\n", "node"),
        (b"#!/usr/bin/env -i\n", None),
        (b"#!/usr/bin/env\n", None),
        (b"#!/bin/sh -e\n", None),  # not env
        (b"#!/usr/bin/envy python3\n", None),
    ],
)
def test_env_program(head: bytes, program: str | None) -> None:
    assert parse_shebang(head).program == program


def test_line_of_exactly_the_buffer_is_not_truncated() -> None:
    # The newline is the buffer's last byte (index 255): the kernel finds it.
    head = b"#!/bin/sh " + b"a" * 245 + b"\n"
    assert head.index(b"\n") == BINPRM_BUF_SIZE - 1
    s = parse_shebang(head + b"more\n")
    assert (s.truncated, s.argument) == (False, "a" * 245)


def test_long_argument_is_cut_at_255_bytes() -> None:
    head = b"#!/bin/sh " + b"a" * 400 + b"\n"
    s = parse_shebang(head)
    assert s.truncated and s.interpreter == "/bin/sh"
    assert s.argument == "a" * (BINPRM_BUF_SIZE - 1 - len(b"#!/bin/sh "))


def test_interpreter_longer_than_the_buffer_is_refused() -> None:
    s = parse_shebang(b"#!/" + b"d" * 300 + b"\n")
    assert s.truncated and s.interpreter == "" and s.argument is None


@pytest.mark.parametrize("head", [b"#!\n", b"#!   \t\n", b"#!", b"#!" + b" " * 300])
def test_no_interpreter(head: bytes) -> None:
    assert parse_shebang(head).interpreter == ""


def test_nul_ends_the_line_like_a_c_string() -> None:
    s = parse_shebang(b"#!/bin/sh\0 -e\n")
    assert (s.interpreter, s.argument) == ("/bin/sh", None)
    s = parse_shebang(b"#!/bin/sh -e\0junk\n")
    assert (s.interpreter, s.argument) == ("/bin/sh", "-e")


def test_blank_then_nul_gives_an_empty_argument() -> None:
    # The kernel sets i_arg at the NUL after skipping blanks: it passes "" as the argument.
    assert parse_shebang(b"#!/bin/sh   \0rest").argument == ""


def test_not_utf8_round_trips() -> None:
    s = parse_shebang(b"#!/opt/\xff/sh \xfe\n")
    assert s.interpreter.encode("utf-8", "surrogateescape") == b"/opt/\xff/sh"
    assert s.argument is not None and s.argument.encode("utf-8", "surrogateescape") == b"\xfe"
    assert s.line.encode("utf-8", "surrogateescape") == b"#!/opt/\xff/sh \xfe"


def test_only_the_first_line_is_read() -> None:
    s = parse_shebang(b"#!/bin/sh\n#!/bin/bash\n")
    assert s.interpreter == "/bin/sh" and s.line == "#!/bin/sh"


def test_shown_line_stops_at_the_first_newline_after_a_nul() -> None:
    s = parse_shebang(b"#!/bin/sh\0\nrm -rf /\n")
    assert s.interpreter == "/bin/sh"
    assert "\n" not in s.line and "rm" not in s.line
