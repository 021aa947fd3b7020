"""How names that are not valid UTF-8 are written out, in text and in JSON.

A file name, ``#!`` line, ``PT_INTERP`` or ``DT_NEEDED`` can hold any byte. linkcheck reads them with
Python's "surrogateescape" (a byte 0xNN that is not part of valid UTF-8 becomes U+DCNN), which cannot be
encoded as UTF-8 and is not valid Unicode in JSON. Every output therefore writes such a byte as the four
characters ``\\xNN``:

* text (``escape_text``): also every character that does not print (controls as ``\\x1b``, a line break
  as ``\\x0a``; others, e.g. C1 controls or a right-to-left override, as ``\\u202e``), so a name can
  neither forge a report line nor reach the terminal as an escape sequence.
  Text is for reading: a name that itself holds the characters ``\\x41`` reads the same as the byte.
* JSON, JSON lines and SARIF (``escape_json``): lossless. JSON escapes control characters itself; in
  addition a backslash that would read as the start of ``\\xNN`` or ``\\uNNNN`` is written ``\\x5c``, so
  the original bytes are the string's UTF-8 with every ``\\xNN`` replaced by the byte NN (a lone surrogate
  that came from no byte, e.g. out of an image config's JSON, is written ``\\uNNNN``).
"""

from __future__ import annotations

import json
import re
from typing import Any

_JSON = re.compile(r"[\ud800-\udfff]|\\(?=x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4})")


def _one(match: re.Match[str]) -> str:
    return _code(match.group())


def _code(char: str) -> str:
    c = ord(char)
    if c == 0x5C:  # a backslash that would read as an escape
        return "\\x5c"
    if c < 0x80 or 0xDC80 <= c <= 0xDCFF:
        return f"\\x{c & 0xFF:02x}"
    return f"\\u{c:04x}" if c <= 0xFFFF else f"\\U{c:08x}"


def escape_text(text: str) -> str:
    """``text`` fit for a terminal in any locale: one line, no control characters, no surrogates."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _code(c) for c in text)


def escape_json(value: Any) -> Any:
    """``value`` (a JSON-ready tree of dicts, lists and scalars) with every string escaped losslessly,
    so that ``json.dumps`` writes valid Unicode whatever bytes the names held."""
    if isinstance(value, str):
        if value.isascii() and "\\" not in value:
            return value
        return _JSON.sub(_one, value)
    if isinstance(value, dict):
        return {escape_json(k): escape_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [escape_json(v) for v in value]
    return value


def unescape_json(text: str) -> bytes:
    """The bytes a string written by ``escape_json`` stands for (the convention's inverse, for consumers
    and tests)."""
    out = bytearray()
    pos = 0
    for m in re.finditer(r"\\x([0-9a-fA-F]{2})|\\u(d[89a-fA-F][0-9a-fA-F]{2})", text):
        out += text[pos : m.start()].encode("utf-8")
        if m.group(1) is not None:
            out.append(int(m.group(1), 16))
        else:
            out += chr(int(m.group(2), 16)).encode("utf-8", "surrogatepass")
        pos = m.end()
    out += text[pos:].encode("utf-8")
    return bytes(out)


def dumps(value: Any, indent: int | None = None) -> str:
    """``value`` as JSON text: escaped as above, then ASCII only, so it prints in any locale."""
    return json.dumps(escape_json(value), indent=indent)
