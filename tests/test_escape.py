"""Names that are not UTF-8: every output is valid and (JSON, JSON lines, SARIF) lossless, in any locale."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkcheck.output import sarif
from linkcheck.output.escape import dumps, escape_json, escape_text, unescape_json

from conftest import ROOT
from elfwriter import ElfSpec, write

SCHEMA = json.loads((ROOT / "linkcheck" / "schema.json").read_text())


def named(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


@given(st.binary(max_size=40))
def test_json_strings_round_trip_every_byte_string(raw: bytes) -> None:
    text = dumps({"path": named(raw)})
    assert text.isascii()
    back = json.loads(text)["path"]
    back.encode("utf-8")  # valid Unicode: no lone surrogate reaches a strict reader
    assert unescape_json(back) == raw


@given(st.binary(max_size=40))
def test_text_is_printable_and_names_each_byte_that_is_not_utf8(raw: bytes) -> None:
    shown = escape_text(named(raw))
    assert shown.isprintable()
    shown.encode("utf-8")
    for c in named(raw):
        if 0xDC80 <= ord(c) <= 0xDCFF:
            assert f"\\x{ord(c) & 0xFF:02x}" in shown


def test_a_backslash_that_reads_as_an_escape_is_escaped_in_json() -> None:
    assert escape_json("a\\x41b\\u0041c\\n") == "a\\x5cx41b\\x5cu0041c\\n"
    assert unescape_json("a\\x5cx41b") == b"a\\x41b"
    assert escape_json({"k\udcff": ["\udcfe"]}) == {"k\\xff": ["\\xfe"]}


def test_text_escapes_controls_line_breaks_and_bidi_overrides() -> None:
    assert escape_text("a\nb\x1b[2Jc\u202ed\udce9") == "a\\x0ab\\x1b[2Jc\\u202ed\\xe9"
    assert escape_text("plain é") == "plain é"


def test_sarif_is_written_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out.sarif"
    out.write_text("previous log")

    def broken(*_: Any) -> dict[str, Any]:
        raise RuntimeError("interrupted half-way")

    monkeypatch.setattr(sarif, "to_sarif", broken)
    with pytest.raises(RuntimeError):
        sarif.write_sarif(str(out), [], "0")
    assert out.read_text() == "previous log"
    assert os.listdir(tmp_path) == ["out.sarif"]
    monkeypatch.undo()
    sarif.write_sarif(str(out), [], "0")
    assert json.loads(out.read_text())["version"] == "2.1.0"
    assert os.listdir(tmp_path) == ["out.sarif"]


def _locale_available(name: str) -> bool:
    try:
        listed = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return False
    return name.lower().replace("-", "") in listed.lower().replace("-", "").split()


HOSTILE_DIR = b"d\xe9j\xe0"
HOSTILE_SCRIPT = b"s\xff\n\x1b[2J.sh"
HOSTILE_INTERP = b"/lib/ld-\xfe\xff.so"
HOSTILE_NEEDED = b"libq\xc3(.so"  # an invalid two-byte sequence
HOSTILE_SHEBANG = b"#!/bin/\xe9sh -\xfe\n"


def _hostile_tree(tmp_path: Path) -> bytes:
    top = os.path.join(os.fsencode(tmp_path), HOSTILE_DIR)
    os.mkdir(top)
    with open(os.path.join(top, HOSTILE_SCRIPT), "wb") as f:
        f.write(HOSTILE_SHEBANG + b"echo\n")
    elf = write(ElfSpec(interp=named(HOSTILE_INTERP), needed=(named(HOSTILE_NEEDED),)))
    with open(os.path.join(top, b"prog"), "wb") as f:
        f.write(elf)
    return top


@pytest.mark.parametrize("locale", ["en_US.UTF-8", "C", "POSIX"])
def test_every_output_format_survives_hostile_names_in_every_locale(tmp_path: Path, locale: str) -> None:
    if not _locale_available(locale) and locale != "POSIX":
        pytest.skip(f"locale {locale} not generated (scripts/test.sh generates it)")
    top = _hostile_tree(tmp_path)
    env = {**os.environ, "LC_ALL": locale, "LANG": locale}
    env.pop("PYTHONIOENCODING", None)
    env.pop("PYTHONUTF8", None)
    script = os.path.join(top, HOSTILE_SCRIPT)

    def run(*args: bytes | str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "linkcheck", *args], capture_output=True, env=env,
                              timeout=120, check=False)

    prog = os.path.join(top, b"prog")
    for argument, expected in ((top, {script, prog}), (script, {script})):
        text = run(argument, "-t", "alpine")
        assert text.returncode == 1 and b"Traceback" not in text.stderr, text.stderr
        shown = text.stdout.decode("utf-8")  # valid UTF-8 whatever the locale
        assert all(line.isprintable() for line in shown.splitlines())
        assert "s\\xff\\x0a\\x1b[2J.sh" in shown and "/bin/\\xe9sh" in shown
        sarif_path = tmp_path / "out.sarif"
        for fmt in ("--json", "--jsonl"):
            done = run(argument, "-t", "alpine", fmt, "--sarif", str(sarif_path))
            assert b"Traceback" not in done.stderr and done.returncode == 1, done.stderr
            docs = ([json.loads(done.stdout)] if fmt == "--json"
                    else [json.loads(line) for line in done.stdout.splitlines()])
            for doc in docs:
                json.dumps(doc, ensure_ascii=False).encode("utf-8")  # no lone surrogate anywhere
                if fmt == "--json":
                    jsonschema.validate(doc, SCHEMA)
            files = [f for d in docs for f in (d.get("files", [d]))]
            by_path = {unescape_json(f["path"]): f for f in files}
            assert set(by_path) == expected
            if prog in by_path:
                assert unescape_json(by_path[prog]["interpreter"]) == HOSTILE_INTERP
                assert [unescape_json(n) for n in by_path[prog]["needed"]] == [HOSTILE_NEEDED]
            assert unescape_json(by_path[script]["script"]["interpreter"]) == b"/bin/\xe9sh"
            assert unescape_json(by_path[script]["script"]["argument"]) == b"-\xfe"
            log = json.loads(sarif_path.read_bytes())
            locations = [r["locations"][0]["physicalLocation"] for r in log["runs"][0]["results"]]
            uris = {unquote_to_bytes(urlsplit(where["artifactLocation"]["uri"]).path) for where in locations}
            assert uris == expected


def _fuzz() -> Any:
    """scripts/fuzz.py as a module (a script, outside the type-checked packages)."""
    import importlib

    sys.path.insert(0, str(ROOT / "scripts"))
    return importlib.import_module("fuzz")


def test_hostile_names_through_every_output_format() -> None:
    """scripts/fuzz.py's "names" generator class, a short fixed-seed run, and every saved failure."""
    import random

    fuzz = _fuzz()
    rng = random.Random(12)
    for _ in range(150):
        name, content = fuzz.names_input(rng)
        assert fuzz.check_names(name, content) is None, (name, content[:64])
    for saved in sorted((ROOT / "fixtures" / "regressions").glob("*.name")):
        name, _, content = saved.read_bytes().partition(b"\0")
        assert fuzz.check_names(name, content) is None, saved.name
