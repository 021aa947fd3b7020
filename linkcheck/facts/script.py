"""Shebang lines, read the way Linux's binfmt_script reads them. Pure: bytes in, facts out.

The kernel copies the first 256 bytes of the file (BINPRM_BUF_SIZE since Linux 5.1) into a zeroed
buffer and treats it as a C string:

* the line ends at the first "\\n"; a NUL byte before it ends the string there too, exactly as in the
  kernel (strnchr stops at NUL), so the bytes after a NUL are never part of the interpreter or argument;
* with no "\\n" (or NUL) in the buffer the line is cut at 255 bytes (``truncated``); if not even the
  interpreter path ends inside it, the kernel refuses the file with ENOEXEC (``interpreter`` "");
* spaces and tabs after "#!" are skipped; the interpreter runs up to the next space, tab or NUL; the
  rest, with surrounding spaces and tabs removed, is ONE argument (never split);
* "\\r" is not a blank: with CRLF line ends it stays in the last word ("/bin/sh\\r", "python3\\r").

``interpreter`` is "" when the kernel finds no interpreter name (it refuses with ENOEXEC).
"""

from __future__ import annotations

from linkcheck.model import ScriptFacts

BINPRM_BUF_SIZE = 256
_BLANKS = b" \t"


def parse_shebang(head: bytes) -> ScriptFacts:
    """Parse the start of a file that begins with "#!" (at least its first 256 bytes, if it has them)."""
    buf = bytes(head[:BINPRM_BUF_SIZE]).ljust(BINPRM_BUF_SIZE, b"\0")
    last = BINPRM_BUF_SIZE - 1
    nul = buf.find(b"\0")
    cstr_end = nul if nul >= 0 else BINPRM_BUF_SIZE
    newline = buf.find(b"\n", 0, cstr_end)
    truncated = False
    if newline >= 0:
        end = newline
    else:
        # No newline inside the C string: the kernel uses the whole buffer, last byte overwritten.
        end = last
        truncated = nul < 0
    crlf = newline > 0 and buf[newline - 1 : newline] == b"\r"
    while end > 2 and buf[end - 1 : end] in (b" ", b"\t"):
        end -= 1
    line_bytes = buf[:end]
    # Everything after the first NUL is invisible to the kernel.
    line_bytes = line_bytes.split(b"\0", 1)[0]
    body = line_bytes[2:]
    start = 0
    while start < len(body) and body[start : start + 1] in (b" ", b"\t"):
        start += 1
    rest = body[start:]
    sep = len(rest)
    for i, c in enumerate(rest):
        if c in _BLANKS:
            sep = i
            break
    interp = rest[:sep]
    if truncated and sep == len(rest):
        interp = b""  # the interpreter path itself does not end inside the buffer: ENOEXEC
    # Trailing blanks were trimmed before the line end; after a NUL nothing is trimmed, and a blank
    # followed by the NUL gives an empty argument, as in the kernel.
    argument = _path(rest[sep:].lstrip(_BLANKS)) if sep < len(rest) and interp else None
    interpreter = _path(interp)
    program = None
    if interpreter.rsplit("/", 1)[-1] == "env" and argument is not None:
        program = _env_program(argument)
    # The line shown to people ends at the first newline even past a NUL (the kernel stops reading
    # at the NUL, but the file's next lines must not leak into the report).
    shown_end = bytes(head[:BINPRM_BUF_SIZE]).find(b"\n")
    shown = head[: shown_end if shown_end >= 0 else min(len(head), last)]
    if shown.endswith(b"\r"):
        shown = shown[:-1]
    return ScriptFacts(
        interpreter=interpreter,
        argument=argument,
        program=program,
        crlf=crlf,
        truncated=truncated,
        line=_path(bytes(shown)),
    )


def _path(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _env_program(argument: str) -> str | None:
    """The program ``env`` is asked to run. The kernel passes one argument; GNU env's ``-S`` splits
    it, otherwise the whole argument is the program name (so "python3 -u" is looked up as such)."""
    if argument.startswith("-S"):
        words = argument[2:].replace("\t", " ").split(" ")
        words = [w for w in words if w]
        return words[0] if words else None
    if argument.startswith("-"):
        return None
    return argument
